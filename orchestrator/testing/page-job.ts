// Test support: a finished parallel job for `perstack log --html`, and its page. A coordinator delegates to two
// Experts in one step; one delegate's query and the other's answer carry markup a model could write; one delegate
// hits a rate limit (a retry) and then has its sandbox killed (a crash, then a retried attempt).
import { readFile } from "node:fs/promises"
import path from "node:path"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { logCommand } from "../cli/log-command.ts"
import { startExpertScript } from "./expert-script.ts"
import { configText, makeJobWorkspace, runTestJob, type TestWorkspace } from "./job-harness.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["designer", "programmer"]

[experts."designer"]
instruction = "Design."

[experts."programmer"]
instruction = "Program."
`
/** What a model may write: markup and a script that would run if the page put it in as markup. */
export const HOSTILE = `</script><script>document.title="pwned"</script><img src=x onerror="document.body.dataset.pwned=1"><b id="injected">bold</b>`
const usage = (promptTokens: number, completionTokens: number) => ({
  usage: { promptTokens, completionTokens },
})

export interface PageJob {
  ws: TestWorkspace
  jobId: string
  runs: Run[]
  /** every event of the job, as the orchestrator heard them */
  events: PerstackEvent[]
  /** <workspace>/job.html, written by `perstack log --html job.html` */
  pageFile: string
  page: string
  /** what `perstack log --html` wrote on stderr */
  stderr: string
  [Symbol.asyncDispose](): Promise<void>
}

export async function runPageJob(): Promise<PageJob> {
  const ws = await makeJobWorkspace()
  const events: PerstackEvent[] = []
  const programmerStarted = () =>
    events.find((event) => event.type === "sandboxStarted" && event.expertKey === "programmer")
  await using llm = await startExpertScript({
    lead: [
      {
        toolCalls: [
          { id: "d", name: "delegate__designer", arguments: { query: `design a level ${HOSTILE}` } },
          { id: "p", name: "delegate__programmer", arguments: { query: "write the game" } },
        ],
        ...usage(1000, 200),
      },
      { text: "The game is ready", ...usage(2000, 100) },
    ],
    designer: [{ text: `level done ${HOSTILE}`, ...usage(300, 20) }],
    programmer: [
      { type: "error", status: 429, message: "slow down", headers: { "retry-after": "0" } },
      async () => {
        await until(() => programmerStarted() !== undefined)
        const started = programmerStarted()
        if (started?.type === "sandboxStarted")
          process.kill(Number(started.sandboxId.replace("pid:", "")), "SIGKILL")
        return { type: "stall" as const }
      },
      { text: "code done", ...usage(50, 5) },
    ],
  })
  const result = await runTestJob(ws, {
    toml: configText(llm.url, TEAM),
    expertKey: "lead",
    query: "Make a game",
    onEvent: (event) => events.push(event),
  })
  if (result.status !== "completed") throw new Error(`the page's job ended ${result.status}`)
  let stderr = ""
  const code = await logCommand(
    { job: result.job.id, html: "job.html" },
    { cwd: ws.dir, env: {}, stdout: () => {}, stderr: (text) => (stderr += text) },
  )
  if (code !== 0) throw new Error(`perstack log --html failed: ${stderr}`)
  const pageFile = path.join(ws.dir, "job.html")
  return {
    ws,
    jobId: result.job.id,
    runs: await ws.store.listRuns(result.job.id),
    events,
    pageFile,
    page: await readFile(pageFile, "utf8"),
    stderr,
    [Symbol.asyncDispose]: () => ws[Symbol.asyncDispose](),
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; waited < 20_000 && !check(); waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20))
}

/** The markup of a run's timeline row (one line of the page). */
export function rowOf(html: string, runId: string): string {
  const start = html.indexOf(`<div class="row" data-run="${runId}"`)
  return start === -1 ? "" : html.slice(start, html.indexOf("\n", start))
}

/** The events' details the page holds, from its JSON block. */
export function detailsOf(page: string): Array<{ title: string; json: string }> {
  return JSON.parse(page.slice(page.indexOf('id="events">') + 12, page.indexOf("</script>")))
}
