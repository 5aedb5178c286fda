// A sandbox's checkpoints must continue what its run knows: a record naming another history is refused, not stored.
import { readdir } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

describe("checkpoints a sandbox prints", () => {
  it("are refused as outputRejected when they continue a checkpoint their run never had; the run goes on", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ writer: [{ text: "Done." }] })
    const events: PerstackEvent[] = []
    const result = await runTestJob(ws, {
      toml: configText(llm.url, `[experts."writer"]\ninstruction = "Write."\n`),
      expertKey: "writer",
      query: "Go",
      backend: {
        runtimeEntry: path.resolve(import.meta.dirname, "../testing/fixtures/history-forging-runtime.ts"),
      },
      onEvent: (event) => events.push(event),
    })
    expect(result).toMatchObject({ status: "completed", text: "Done." })
    const rejected = events.find((event) => event.type === "outputRejected")
    expect(rejected).toMatchObject({ reason: "invalidEvent" })
    expect(rejected?.type === "outputRejected" && rejected.issues).toBe(
      "checkpoint cp-forged: history continues checkpoint cp-of-another-run, which is not known here",
    )
    expect(events.some((event) => event.type === "continueToNextStep")).toBe(false)
    const files = await readdir(ws.store.paths.checkpoints(result.job.id))
    expect(files).toEqual([`${result.checkpoint?.id}.json`])
    expect(await ws.store.readCheckpoint(result.job.id, result.checkpoint?.id ?? "")).toEqual(
      result.checkpoint,
    )
  })
})
