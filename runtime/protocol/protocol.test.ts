import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import {
  type Checkpoint,
  checkpointRecordSchema,
  checkpointRecordsOf,
  checkpointSchema,
  eventSchemaByType,
  HistoryIndex,
  jobSchema,
  type PerstackEvent,
  perstackEventSchema,
  runSchema,
  runSpecSchema,
  sandboxEventSchema,
} from "./index.ts"

// Frozen fixtures of each version: read here, never regenerated. A schema change that breaks them breaks stored jobs.
const fixtures = (version: string) => {
  const dir = path.join(import.meta.dirname, "fixtures", version)
  return {
    json: (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(dir, name), "utf8")),
    events: readFileSync(path.join(dir, "events.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}
const v1 = fixtures("v1")
const v2 = fixtures("v2")

const allEventTypes = [...eventSchemaByType.keys()]
/** Event types added after protocol 1: its frozen fixture cannot have them. */
const AFTER_V1 = new Set(["heartbeat"])
const TERMINAL = [
  "completeRun",
  "stopRunByDelegate",
  "stopRunByInteractiveTool",
  "stopRunByExceededMaxSteps",
  "stopRunByError",
]

describe("the v1 protocol", () => {
  it("reads every stored v1 event, and the fixture covers every event type", () => {
    const parsed = v1.events.map((event) => perstackEventSchema.parse(event))
    expect(new Set(parsed.map((event) => event.type))).toEqual(
      new Set(allEventTypes.filter((type) => !AFTER_V1.has(type))),
    )
    expect(allEventTypes).toHaveLength(36)
  })

  it("reads a v1 event as protocol 2: a checkpoint's whole conversation as new messages, startGeneration's count", () => {
    const parsed = v1.events.map((event) => perstackEventSchema.parse(event))
    const generation = parsed.find((event) => event.type === "startGeneration")
    expect(generation).toMatchObject({ protocolVersion: 2, messageCount: 2 })
    const step = parsed.find((event) => event.type === "continueToNextStep")
    const original = v1.events.find((event) => event.type === "continueToNextStep") as {
      checkpoint: Checkpoint
    }
    if (step?.type !== "continueToNextStep") throw new Error("no continueToNextStep in the fixture")
    expect(step.checkpoint.history).toEqual({ messageCount: 0, newMessages: original.checkpoint.messages })
    const index = new HistoryIndex()
    expect(index.whole(step.checkpoint)).toEqual({ ...original.checkpoint, protocolVersion: 2 })
  })

  it("reads stored v1 checkpoints, jobs, runs and RunSpecs", () => {
    expect(checkpointSchema.parse(v1.json("checkpoint.json")).stepNumber).toBe(1)
    expect(jobSchema.parse(v1.json("job.json")).status).toBe("completed")
    expect(runSchema.parse(v1.json("run.json")).parentRunId).toBe("run_01coord")
    expect(runSpecSchema.parse(v1.json("run-spec.json")).input.type).toBe("resume")
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

  it("refuses unknown fields, so a secret cannot ride along in a RunSpec", () => {
    const spec = v1.json("run-spec.json") as { provider: Record<string, unknown> }
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
})

describe("the v2 protocol", () => {
  const parsed = () => v2.events.map((event) => perstackEventSchema.parse(event))

  it("reads every stored v2 event, and the fixture covers every event type", () => {
    expect(new Set(parsed().map((event) => event.type))).toEqual(new Set(allEventTypes))
    // Read as they are: nothing to upgrade.
    expect(parsed()).toEqual(v2.events)
  })

  it("reads stored v2 checkpoint records, jobs, runs and RunSpecs", () => {
    expect(checkpointRecordSchema.parse(v2.json("checkpoint.json")).history).toMatchObject({
      checkpointId: "cp_1",
      messageCount: 4,
    })
    expect(jobSchema.parse(v2.json("job.json")).protocolVersion).toBe(2)
    expect(runSchema.parse(v2.json("run.json")).protocolVersion).toBe(2)
    const spec = runSpecSchema.parse(v2.json("run-spec.json"))
    expect(spec.input.type === "resume" && spec.input.historyBase).toEqual({
      checkpointId: "cp_1",
      messageCount: 4,
    })
  })

  it("puts each checkpoint back together from the ones it continues, as v1 printed it whole", () => {
    const index = new HistoryIndex()
    const whole = new Map<string, Checkpoint>()
    for (const event of parsed())
      for (const record of checkpointRecordsOf(event)) whole.set(record.id, index.whole(record))
    for (const event of v1.events) {
      for (const key of ["initialCheckpoint", "checkpoint", "nextCheckpoint"]) {
        const checkpoint = event[key] as Checkpoint | undefined
        if (checkpoint) expect(whole.get(checkpoint.id)?.messages).toEqual(checkpoint.messages)
      }
    }
    // The records repeat no message: each is in the events once, where it was new.
    const newMessages = parsed().flatMap((event) =>
      checkpointRecordsOf(event).flatMap((record) => record.history.newMessages.map((message) => message.id)),
    )
    expect(newMessages).toEqual(["m1", "m2", "m3", "m4"])
  })

  it("refuses an event or record without the protocol version, or of an unknown version", () => {
    const [first] = v2.events
    const { protocolVersion: _, ...unversioned } = first ?? {}
    expect(perstackEventSchema.safeParse(unversioned).success).toBe(false)
    expect(perstackEventSchema.safeParse({ ...first, protocolVersion: 3 }).success).toBe(false)
    expect(checkpointSchema.safeParse({ ...v1.json("checkpoint.json"), protocolVersion: 0 }).success).toBe(
      false,
    )
    expect(
      checkpointRecordSchema.safeParse({ ...v2.json("checkpoint.json"), protocolVersion: 1 }).success,
    ).toBe(false)
  })

  it("does not let a sandbox print orchestrator events, nor protocol 1's whole checkpoints", () => {
    const orchestratorOnly = v2.events
      .filter((event) => !sandboxEventSchema.safeParse(event).success)
      .map((e) => e.type)
    expect(orchestratorOnly.sort()).toEqual(["outputRejected", "sandboxExited", "sandboxStarted"])
    const v1Generation = v1.events.find((event) => event.type === "startGeneration")
    expect(sandboxEventSchema.safeParse(v1Generation).success).toBe(false)
  })

  it("carries a checkpoint record on every terminal event", () => {
    const terminal = parsed().filter((event) => TERMINAL.includes(event.type)) as PerstackEvent[]
    expect(terminal).toHaveLength(5)
    for (const event of terminal)
      expect(checkpointRecordSchema.safeParse((event as { checkpoint: unknown }).checkpoint).success).toBe(
        true,
      )
  })
})
