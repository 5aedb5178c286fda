import { spawn } from "node:child_process"
import { readdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { logCommand } from "../cli/log-command.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, RUNTIME_SOURCE, runTestJob } from "../testing/job-harness.ts"

const PAIR = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

/** An exec call that appends its name to count.txt (so a repeated call shows), then optionally waits. */
const counted = (id: string, seconds = 0) => ({
  id,
  name: "exec",
  arguments: {
    command: "bash",
    args: ["-c", `echo ${id} >> count.txt${seconds ? `; sleep ${seconds}` : ""}`],
  },
})

async function until(check: () => Promise<boolean> | boolean, what: string) {
  for (let waited = 0; waited < 20_000; waited += 20) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const sandboxPid = (events: PerstackEvent[], expertKey: string) => {
  const started = events.findLast((event) => event.type === "sandboxStarted" && event.expertKey === expertKey)
  return started?.type === "sandboxStarted" ? Number(started.sandboxId.replace("pid:", "")) : 0
}

/** Resolves once some run's stored events hold a tool result (5 s at most). */
async function storedResult(workspace: string): Promise<void> {
  const jobs = path.join(workspace, "perstack/jobs")
  for (let attempt = 0; attempt < 100; attempt++) {
    const files = await readdir(jobs, { recursive: true }).catch(() => [] as string[])
    for (const file of files.filter((name) => String(name).endsWith("events.ndjson"))) {
      const text = await readFile(path.join(jobs, String(file)), "utf8").catch(() => "")
      if (text.includes('"type":"recordToolResult"') || text.includes('"type":"resolveToolResults"')) return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("crash recovery", () => {
  it("resumes a run whose sandbox died mid-step in a fresh one: finished calls do not run again", async () => {
    await using ws = await makeJobWorkspace()
    const events: PerstackEvent[] = []
    await using llm = await startExpertScript({
      worker: [
        { toolCalls: [counted("a"), counted("b", 2)] },
        (request) => ({ text: `results: ${lastInput(request)}` }),
      ],
    })
    const count = path.join(ws.dir, "count.txt")
    const job = runTestJob(ws, {
      toml: configText(llm.url, PAIR),
      expertKey: "worker",
      query: "Go",
      onEvent: (event) => events.push(event),
    })
    // Kill the sandbox once call a has finished (and been recorded) while call b is still running.
    await until(async () => {
      const recorded = events.some(
        (event) => event.type === "recordToolResult" && event.toolResult.id === "a",
      )
      return recorded && (await readFile(count, "utf8").catch(() => "")).includes("b")
    }, "call a recorded and call b running")
    process.kill(sandboxPid(events, "worker"), "SIGKILL")
    const result = await job

    expect(result.status).toBe("completed")
    // a ran once; b, which was running when the sandbox died, ran again (and was marked as such).
    // (a and b start in parallel: count, not order)
    expect((await readFile(count, "utf8")).split("\n").filter(Boolean).sort()).toEqual(["a", "b", "b"])
    const resumed = events.find((event) => event.type === "resumeToolCalls")
    expect(resumed?.type === "resumeToolCalls" && resumed.repeatedToolCallIds).toEqual(["b"])
    const runs = await ws.store.listRuns(result.job.id)
    expect(runs.map((run) => [run.status, run.error?.code, run.attempt, run.retryOf])).toEqual([
      ["stoppedByError", "sandbox.crashed", undefined, undefined],
      ["completed", undefined, 2, runs[0]?.id],
    ])
    // perstack log shows the retry in the tree.
    let tree = ""
    await logCommand(
      { job: result.job.id, tree: true, workspace: ws.dir },
      { cwd: ws.dir, stdout: (text) => (tree += text), stderr: () => {} },
    )
    expect(tree).toMatch(/✓ worker \(retry 2: its sandbox died\)/)
    // The model got both results, once each.
    expect(result.text).toMatch(/^results: /)
    const last = llm.requests.at(-1)?.body as
      | { messages: Array<{ role: string; tool_call_id?: string }> }
      | undefined
    const toolMessages = (last?.messages ?? [])
      .filter((message) => message.role === "tool")
      .map((message) => message.tool_call_id)
    expect(toolMessages).toEqual(["a", "b"])
    // The retry's checkpoints continue what the store held of the crashed run: the conversation reads back whole.
    const final = await ws.store.readCheckpoint(result.job.id, runs[1]?.lastCheckpointId ?? "")
    expect(final?.messages.map((message) => message.type)).toEqual([
      "instructionMessage",
      "userMessage",
      "expertMessage",
      "toolMessage",
      "expertMessage",
    ])
  })

  it("gives up after crashRetries and gives the failure to the parent", async () => {
    await using ws = await makeJobWorkspace()
    const events: PerstackEvent[] = []
    let kills = 0
    const dieEachTime = async () => {
      // A retry's (warm) sandbox may ask the model before its sandboxStarted is heard: wait for it, so the kill
      // never goes to the sandbox that is already dead.
      kills += 1
      await until(
        () =>
          events.filter((event) => event.type === "sandboxStarted" && event.expertKey === "worker").length >=
          kills,
        "the worker's sandbox to start",
      )
      process.kill(sandboxPid(events, "worker"), "SIGKILL")
      return { type: "stall" as const }
    }
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        (request) => ({ text: `Noted: ${lastInput(request)}` }),
      ],
      worker: [{ toolCalls: [counted("a")] }, dieEachTime, dieEachTime],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, PAIR),
      expertKey: "lead",
      query: "Go",
      settings: { crashRetries: 1 },
      onEvent: (event) => events.push(event),
    })
    expect(result.status).toBe("completed")
    expect(result.text).toMatch(
      /^Noted: Error: The delegate "worker" failed: the sandbox ended \(signal SIGKILL\)/,
    )
    const workers = (await ws.store.listRuns(result.job.id)).filter((run) => run.expertKey === "worker")
    expect(workers.map((run) => [run.status, run.attempt])).toEqual([
      ["stoppedByError", undefined],
      ["stoppedByError", 2],
    ])
    // The second attempt continued after step 1: the finished call did not run again.
    expect((await readFile(path.join(ws.dir, "count.txt"), "utf8")).trim()).toBe("a")
  })

  it("after kill -9 of perstack run, --continue-job reaps what it left and finishes the job, nothing run twice", async () => {
    await using ws = await makeJobWorkspace()
    let orchestrator: ReturnType<typeof spawn> | undefined
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        (request) => ({ text: `Finished: ${lastInput(request)}` }),
      ],
      worker: [
        { toolCalls: [counted("a")] },
        async () => {
          // The orchestrator dies while the worker waits on its second generation, once it has stored the
          // finished call's result (the runtime sends the result and this request at once: under load the
          // orchestrator may not have written the result yet, and then the call is rightly run again).
          await storedResult(ws.dir)
          orchestrator?.kill("SIGKILL")
          return { type: "stall" }
        },
        { text: "worker done" },
      ],
    })
    const toml = configText(llm.url, PAIR)
    await writeFile(path.join(ws.dir, "perstack.toml"), toml)
    orchestrator = spawn(
      process.execPath,
      [path.resolve(import.meta.dirname, "../cli/bin.ts"), "run", "lead", "Go"],
      {
        cwd: ws.dir,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          OPENAI_API_KEY: "sk-test",
          PERSTACK_RUNTIME_ENTRY: RUNTIME_SOURCE,
        },
        stdio: "ignore",
      },
    )
    const killed = await new Promise<NodeJS.Signals | null>((resolve) =>
      orchestrator?.on("exit", (_, signal) => resolve(signal)),
    )
    expect(killed).toBe("SIGKILL")
    const [jobId = ""] = (await ws.store.listJobs()).map((job) => job.id)
    expect((await ws.store.readJob(jobId))?.status).toBe("proceeding")

    const result = await runTestJob(ws, { toml, expertKey: "lead", continueJob: { jobId } })
    expect(result).toMatchObject({ status: "completed", text: "Finished: worker done" })
    expect((await readFile(path.join(ws.dir, "count.txt"), "utf8")).trim()).toBe("a")
    const runs = await ws.store.listRuns(jobId)
    const lost = runs.find((run) => run.error?.code === "orchestrator.lost")
    expect(lost?.expertKey).toBe("worker")
    // No process of the job is left running.
    const leftovers: string[] = []
    for (const pid of (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry))) {
      const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")
      if (environ.split("\0").includes(`PERSTACK_JOB_ID=${jobId}`)) leftovers.push(pid)
    }
    expect(leftovers).toEqual([])
  })
})
