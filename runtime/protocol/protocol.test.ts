import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import {
  checkpointSchema,
  jobSchema,
  type PerstackEvent,
  perstackEventSchema,
  runSchema,
  runSpecSchema,
  sandboxEventSchema,
} from "./index.ts"

// Frozen v1 fixtures: read here, never regenerated. A schema change that breaks them breaks stored jobs.
const fixtures = path.join(import.meta.dirname, "fixtures", "v1")
const json = (name: string): unknown => JSON.parse(readFileSync(path.join(fixtures, name), "utf8"))
const events = readFileSync(path.join(fixtures, "events.ndjson"), "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Record<string, unknown>)

const allEventTypes = perstackEventSchema.options.map((option) => option.shape.type.value)

describe("the v1 protocol", () => {
  it("reads every stored v1 event, and the fixture covers every event type", () => {
    const parsed = events.map((event) => perstackEventSchema.parse(event))
    expect(new Set(parsed.map((event) => event.type))).toEqual(new Set(allEventTypes))
    expect(allEventTypes).toHaveLength(35)
  })

  it("reads stored v1 checkpoints, jobs, runs and RunSpecs", () => {
    expect(checkpointSchema.parse(json("checkpoint.json")).stepNumber).toBe(1)
    expect(jobSchema.parse(json("job.json")).status).toBe("completed")
    expect(runSchema.parse(json("run.json")).parentRunId).toBe("run_01coord")
    expect(runSpecSchema.parse(json("run-spec.json")).input.type).toBe("resume")
  })

  it("keeps the original's names for the 17 state events", () => {
    expect(allEventTypes).toEqual(
      expect.arrayContaining([
        "startRun",
        "startGeneration",
        "retry",
        "callTools",
        "callInteractiveTool",
        "callDelegate",
        "resolveToolResults",
        "attemptCompletion",
        "finishToolCall",
        "resumeToolCalls",
        "finishAllToolCalls",
        "continueToNextStep",
        "stopRunByInteractiveTool",
        "stopRunByDelegate",
        "stopRunByExceededMaxSteps",
        "stopRunByError",
        "completeRun",
      ]),
    )
  })

  it("refuses an event or record without the protocol version, or of an unknown version", () => {
    const [first] = events
    const { protocolVersion: _, ...unversioned } = first ?? {}
    expect(perstackEventSchema.safeParse(unversioned).success).toBe(false)
    expect(perstackEventSchema.safeParse({ ...first, protocolVersion: 2 }).success).toBe(false)
    expect(
      checkpointSchema.safeParse({ ...(json("checkpoint.json") as object), protocolVersion: 0 }).success,
    ).toBe(false)
  })

  it("does not let a sandbox print orchestrator events", () => {
    const orchestratorOnly = events
      .filter((event) => !sandboxEventSchema.safeParse(event).success)
      .map((e) => e.type)
    expect(orchestratorOnly.sort()).toEqual(["outputRejected", "sandboxExited", "sandboxStarted"])
  })

  it("refuses unknown fields, so a secret cannot ride along in a RunSpec", () => {
    const spec = json("run-spec.json") as { provider: Record<string, unknown> }
    const withKey = { ...spec, provider: { providerName: "anthropic", setting: { apiKey: "sk-ant-secret" } } }
    expect(runSpecSchema.safeParse(withKey).success).toBe(false)
    expect(runSpecSchema.safeParse({ ...spec, env: { ANTHROPIC_API_KEY: "sk-ant-secret" } }).success).toBe(
      false,
    )
  })

  it("shares one status vocabulary between jobs, runs and checkpoints", () => {
    const statuses = (schema: { shape: { status: { options: readonly string[] } } }) =>
      schema.shape.status.options
    expect(statuses(jobSchema)).toEqual(statuses(checkpointSchema))
    expect(statuses(runSchema)).toEqual(statuses(checkpointSchema))
    // the original's job status `stoppedByMaxSteps` drifted from the checkpoint's `stoppedByExceededMaxSteps`
    expect(statuses(jobSchema)).toContain("stoppedByExceededMaxSteps")
  })

  it("carries a checkpoint on every terminal event", () => {
    const terminal = events.filter((event) =>
      [
        "completeRun",
        "stopRunByDelegate",
        "stopRunByInteractiveTool",
        "stopRunByExceededMaxSteps",
        "stopRunByError",
      ].includes(String(event.type)),
    ) as PerstackEvent[]
    expect(terminal).toHaveLength(5)
    for (const event of terminal)
      expect(checkpointSchema.safeParse((event as { checkpoint: unknown }).checkpoint).success).toBe(true)
  })
})
