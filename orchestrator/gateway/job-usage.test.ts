// With the gateway on, a job's tokens are the gateway's count, not what its sandboxes say: one figure in job.json,
// run.json, the checkpoints, perstack run's summary and perstack log, and runs killed mid-generation count too.
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import { compact } from "../text/text-preview.ts"

const SOLO = `[experts."solo"]\ninstruction = "Answer."\n`

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 20) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe("a job's tokens with the gateway", () => {
  it("are the gateway's count, the same in job.json, run.json, checkpoints, the summary and perstack log", async () => {
    await using ws = await makeJobWorkspace()
    // A provider that reports no usage: the runtime says 0 tokens, the gateway counts what it forwarded.
    await using llm = await startScriptedLlmServer({
      reportsUsage: false,
      steps: [
        { toolCalls: [{ name: "exec", arguments: { command: "echo", args: ["hello"] } }] },
        { toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
        { text: "All done." },
      ],
    })
    await writeFile(path.join(ws.dir, "perstack.toml"), configText(llm.url, SOLO))
    const run = await perstackCli(ws.dir, ["run", "solo", "go", "--gateway"], {
      OPENAI_API_KEY: "sk-test-key",
    })
    expect(run.code, run.stderr).toBe(0)
    const [job] = await ws.store.listJobs()
    const usage = job?.usage
    expect(usage?.inputTokens).toBeGreaterThan(0)
    expect(usage?.outputTokens).toBeGreaterThan(0)
    // What the sandbox printed said 0; the stored line carries the gateway's count.
    const complete = run.events().find((event) => event.type === "completeRun")
    expect(complete?.type === "completeRun" && complete.checkpoint.usage).toEqual(usage)

    const [segment] = await ws.store.listRuns(job?.id ?? "")
    expect(segment?.usage).toEqual(usage)
    const checkpoint = await ws.store.readCheckpoint(job?.id ?? "", segment?.lastCheckpointId ?? "")
    expect(checkpoint?.usage).toEqual(usage)
    expect(run.stderr).toContain(
      `; ${usage?.inputTokens} tokens in (${usage?.cachedInputTokens} cached), ${usage?.outputTokens} out`,
    )
    const log = await perstackCli(ws.dir, ["log"])
    expect(log.stdout).toContain(
      `Tokens: ${compact(usage?.inputTokens ?? 0)} in (0 cached) / ${compact(usage?.outputTokens ?? 0)} out`,
    )
    expect(log.stdout).toContain(`· ${compact(usage?.totalTokens ?? 0)} tokens ·`)
  })

  it("count a run killed mid-generation, and its retry goes on from them", async () => {
    await using ws = await makeJobWorkspace()
    const events: PerstackEvent[] = []
    let stalled = false
    await using llm = await startScriptedLlmServer({
      reportsUsage: false,
      steps: [
        () => {
          stalled = true
          // A few deltas, then nothing: the sandbox is killed while it waits for the rest.
          return { type: "stall", afterChunks: 6, text: "a long answer that never ends ".repeat(4) }
        },
        { text: "Answered on the second try." },
      ],
    })
    const job = runTestJob(ws, {
      toml: configText(llm.url, SOLO),
      expertKey: "solo",
      query: "go",
      settings: { gateway: true },
      onEvent: (event) => events.push(event),
    })
    await until(() => stalled, "the generation to stall")
    const started = events.find((event) => event.type === "sandboxStarted")
    process.kill(
      Number(started?.type === "sandboxStarted" ? started.sandboxId.replace("pid:", "") : 0),
      "SIGKILL",
    )
    const result = await job
    expect(result.status).toBe("completed")

    const runs = await ws.store.listRuns(result.job.id)
    expect(runs.map((run) => run.status)).toEqual(["stoppedByError", "completed"])
    const [killed, retry] = runs
    // Nothing reported them; before, a killed run's tokens were 0.
    expect(killed?.usage.inputTokens).toBeGreaterThan(0)
    expect(killed?.usage.outputTokens).toBeGreaterThan(0)
    // One conversation: its last segment's cumulative count is the job's, the killed generation included.
    expect(retry?.usage).toEqual(result.job.usage)
    expect(retry?.usage.totalTokens).toBeGreaterThan(killed?.usage.totalTokens ?? 0)
    const stored = JSON.parse(await readFile(ws.store.paths.jobFile(result.job.id), "utf8"))
    expect(stored.usage).toEqual(result.job.usage)
  })

  it("add up across delegates: the job's figure is the sum of its conversations', as perstack log counts them", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript(
      {
        lead: [
          {
            toolCalls: [
              { id: "a", name: "delegate__helper", arguments: { query: "first half" } },
              { id: "b", name: "delegate__helper", arguments: { query: "second half" } },
            ],
          },
          { text: "Both halves done." },
        ],
        helper: [{ text: "one half" }, { text: "the other half" }],
      },
      { reportsUsage: false },
    )
    const experts = `[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
    const result = await runTestJob(ws, {
      toml: configText(llm.url, experts),
      expertKey: "lead",
      query: "go",
      settings: { gateway: true },
    })
    expect(result.status).toBe("completed")
    const runs = await ws.store.listRuns(result.job.id)
    expect(runs).toHaveLength(4)
    for (const run of runs) expect(run.usage.totalTokens).toBeGreaterThan(0)
    // run.json is cumulative per conversation: the last segment of each conversation holds its total.
    const resumed = new Set(runs.flatMap((run) => (run.resumedFrom ? [run.resumedFrom] : [])))
    const ends = runs.filter((run) => !resumed.has(run.lastCheckpointId ?? ""))
    expect(ends).toHaveLength(3)
    const total = ends.reduce((sum, run) => sum + run.usage.totalTokens, 0)
    expect(result.job.usage.totalTokens).toBe(total)
    const log = await perstackCli(ws.dir, ["log", "--job", result.job.id, "--json", "--tree"])
    interface Node {
      usage: { totalTokens: number }
      children: Node[]
    }
    const { tree } = JSON.parse(log.stdout) as { tree: Node[] }
    const segments = (nodes: Node[]): Node[] => nodes.flatMap((node) => [node, ...segments(node.children)])
    expect(segments(tree)).toHaveLength(4)
    // The tree's segments (each its own tokens) add up to the job's.
    const own = segments(tree).map((node) => node.usage.totalTokens)
    expect(own.every((tokens) => tokens > 0)).toBe(true)
    expect(own.reduce((sum, tokens) => sum + tokens, 0)).toBe(result.job.usage.totalTokens)
  })
})
