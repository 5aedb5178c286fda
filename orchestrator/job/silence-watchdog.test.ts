// A sandbox that is alive but silent past the bound (no event, no heartbeat) is stopped as stuck and resumed like a
// crash; a runtime that is merely busy (a tool call longer than the bound) keeps its run by its heartbeat.
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const SOLO = `[experts."solo"]\ninstruction = "Work."\n`
const ofType = (events: PerstackEvent[], type: string) => events.filter((event) => event.type === type)

describe("a sandbox's silence", () => {
  it("past the bound ends the run as stuck, resumed in a fresh sandbox, and fails with the reason", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [] })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, SOLO),
      expertKey: "solo",
      query: "go",
      settings: { silenceTimeoutMs: 1_000, crashRetries: 1 },
      backend: { runtimeEntry: path.resolve(import.meta.dirname, "../testing/fixtures/silent-runtime.ts") },
    })
    expect(result.status).toBe("stoppedByError")
    expect(result.error).toMatch(
      /^the sandbox printed nothing for \d+ s \(not even its heartbeat; the bound is 1 s\): it was stopped as stuck$/,
    )
    // Resumed once, as a crash is, and stuck again.
    expect(ofType(result.events, "sandboxStarted")).toHaveLength(2)
    expect(ofType(result.events, "sandboxExited")).toHaveLength(2)
  })

  it("is not a busy runtime's: a 5 s tool call under a 2 s bound finishes, and no heartbeat is stored", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ name: "exec", arguments: { command: "sleep", args: ["5"] } }] },
        { text: "Slept." },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, SOLO),
      expertKey: "solo",
      query: "go",
      settings: { silenceTimeoutMs: 2_000 },
    })
    expect(result.status).toBe("completed")
    expect(ofType(result.events, "sandboxStarted")).toHaveLength(1)
    expect(ofType(result.events, "heartbeat")).toEqual([])
    const [run] = await ws.store.listRuns(result.job.id)
    const stored: PerstackEvent[] = []
    for await (const event of ws.store.readEvents(result.job.id, run?.id ?? "")) stored.push(event)
    expect(stored.length).toBeGreaterThan(5)
    expect(ofType(stored, "heartbeat")).toEqual([])
  })
})
