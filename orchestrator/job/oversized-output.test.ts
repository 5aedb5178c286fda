// Output too large for the protocol is a bounded failure: the model is told (a response or a tool result over the
// cap, with its size), a runtime never prints a line the orchestrator would refuse, and a sandbox that does is
// stopped at once, without a retry; never a hang, never a paid retry loop.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { MAX_EVENT_LINE_BYTES } from "../../runtime/protocol/limits.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { lastInput } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const SOLO = `[experts."solo"]\ninstruction = "Work."\n`
const HOSTILE = `[experts."hostile"]\ninstruction = "Work."\n`
/** A generation streaming 40 MB on a loaded machine takes longer than the harness's 10 s timeout. */
const solo = (url: string) => ({
  toml: configText(url, SOLO),
  expertKey: "solo",
  settings: { timeout: 120_000 },
})
const ofType = (events: PerstackEvent[], type: string) => events.filter((event) => event.type === type)

/** Every line of the run's stored events is under the cap. */
async function longestStoredLine(storeDir: string, jobId: string, runId: string): Promise<number> {
  const text = await readFile(path.join(storeDir, "jobs", jobId, "runs", runId, "events.ndjson"), "utf8")
  return Math.max(...text.split("\n").map((line) => Buffer.byteLength(line)))
}

describe("output too large for the protocol", () => {
  it("a 17 MB tool argument: the model is told its size and the cap, and the run goes on (one more request)", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [{ name: "writeTextFile", arguments: { path: "big.txt", text: "y".repeat(17e6) } }],
          chunkSize: 1 << 20,
        },
        { text: "Wrote nothing big." },
      ],
    })
    const result = await runTestJob(ws, { ...solo(llm.url), query: "go" })
    expect(result.status).toBe("completed")
    expect(llm.requests).toHaveLength(2)
    const told = lastInput(llm.requests[1] as (typeof llm.requests)[number])
    expect(told).toContain("the response was 17.0 MB, over the 2 MiB one response may carry")
    expect(told).toContain("Write large content to files a piece at a time")
    expect(ofType(result.events, "outputRejected")).toEqual([])
    expect(ofType(result.events, "callTools")).toEqual([])
    await expect(readFile(path.join(ws.dir, "big.txt"))).rejects.toThrow(/ENOENT/)
    const [run] = await ws.store.listRuns(result.job.id)
    expect(await longestStoredLine(path.join(ws.dir, "perstack"), result.job.id, run?.id ?? "")).toBeLessThan(
      1 << 20,
    )
  })

  it("a 40 MB final answer: the model is told, answers within the cap, and the run completes with that answer", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ text: "z".repeat(40e6), chunkSize: 1 << 20 }, { text: "The short answer." }],
    })
    const result = await runTestJob(ws, { ...solo(llm.url), query: "go" })
    expect(result.status).toBe("completed")
    expect(llm.requests).toHaveLength(2)
    expect(lastInput(llm.requests[1] as (typeof llm.requests)[number])).toContain("the response was 40.0 MB")
    const completed = ofType(result.events, "completeRun")[0] as { text?: string } | undefined
    expect(completed?.text).toBe("The short answer.")
    expect(ofType(result.events, "sandboxStarted")).toHaveLength(1)
  })

  it("tool results past a step's cap: the one that does not fit is an error with its size; the others are kept", async () => {
    await using ws = await makeJobWorkspace()
    // Three calls in one step, each printing 900 kB (under exec's own 1 MiB cap): 2.7 MB together.
    const print = (digit: string) => ({
      name: "exec",
      arguments: { command: "node", args: ["-e", `process.stdout.write("${digit}".repeat(9e5))`] },
    })
    await using llm = await startScriptedLlmServer({
      steps: [{ toolCalls: [print("1"), print("2"), print("3")] }, { text: "Read what fitted." }],
    })
    const result = await runTestJob(ws, { ...solo(llm.url), query: "go" })
    expect(result.status).toBe("completed")
    const body = JSON.stringify(llm.requests[1]?.body)
    const kept = ["1", "2", "3"].filter((digit) => body.includes(digit.repeat(9e5)))
    expect(kept).toHaveLength(2)
    expect(body).toMatch(
      /the result was 900\.\d kB, over what this step's tool results may carry \(2 MiB together; \d+\.\d kB was left\)/,
    )
    expect(body).toContain("Ask for less at a time")
  })

  it("a query too large to print: the run stops with the reason, and is not retried", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "never asked" }] })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, SOLO),
      expertKey: "solo",
      query: "q".repeat(MAX_EVENT_LINE_BYTES + 1000),
    })
    expect(result.status).toBe("stoppedByError")
    expect(result.error).toMatch(
      /^the initializeRuntime event is 33\.\d MB, over the 32 MiB an event line may carry/,
    )
    expect(ofType(result.events, "sandboxStarted")).toHaveLength(1)
    expect(llm.requests).toHaveLength(0)
  })

  it("a sandbox printing a 40 MB line and waiting for its acknowledgement is stopped at once, without a retry", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [] })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, HOSTILE),
      expertKey: "hostile",
      query: "go",
      backend: {
        runtimeEntry: path.resolve(import.meta.dirname, "../testing/fixtures/oversized-line-runtime.ts"),
      },
    })
    expect(result.status).toBe("stoppedByError")
    expect(result.error).toMatch(
      /^the sandbox printed a line of 40\.\d MB \(line 1\), over the 32 MiB an event line may carry; the run was stopped$/,
    )
    const rejected = ofType(result.events, "outputRejected") as Array<{
      reason?: string
      byteLength?: number
    }>
    expect(rejected.map((event) => event.reason)).toEqual(["lineTooLong"])
    expect(ofType(result.events, "sandboxStarted")).toHaveLength(1)
  })
})
