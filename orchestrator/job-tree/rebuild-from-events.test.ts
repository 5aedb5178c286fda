import { mkdir, rm } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import { rebuildJobRuns, rebuildRunsFromEvents } from "./rebuild-from-events.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

describe("the job tree rebuilt from the event logs", () => {
  it("gives back what the run records say, and lists a run with no log as unknown", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        { text: "Done." },
      ],
      worker: [{ text: "Worked." }],
    })
    const result = await runTestJob(ws, { toml: configText(llm.url, TEAM), expertKey: "lead", query: "Go" })
    const jobId = result.job.id
    const records = (await ws.store.listRuns(jobId)).sort((a, b) => a.startedAt - b.startedAt)

    const nodes = await rebuildRunsFromEvents(ws.store, jobId)
    expect(nodes.map((node) => [node.runId, node.expertKey, node.status, node.parentRunId])).toEqual(
      records.map((run) => [run.id, run.expertKey, run.status, run.parentRunId]),
    )
    expect(nodes.map((node) => node.checkpointIds.at(-1))).toEqual(records.map((run) => run.lastCheckpointId))

    // A crashed orchestrator: run.json files gone, and a run folder with nothing in it.
    for (const run of records) await rm(ws.store.paths.runFile(jobId, run.id))
    await mkdir(path.dirname(ws.store.paths.eventsFile(jobId, "run_empty")), { recursive: true })
    const rebuilt = await rebuildJobRuns(ws.store, jobId, [...records.map((run) => run.id), "run_empty"])
    expect(rebuilt.slice(0, records.length)).toEqual(
      records.map((run) => ({
        id: run.id,
        expertKey: run.expertKey,
        ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
        ...(run.parentToolCallId ? { parentToolCallId: run.parentToolCallId } : {}),
        ...(run.resumedFrom ? { resumedFrom: run.resumedFrom } : {}),
        status: run.status,
        usage: run.usage,
        lastCheckpointId: run.lastCheckpointId,
        startedAt: expect.any(Number),
        finishedAt: expect.any(Number),
        source: "events",
      })),
    )
    expect(rebuilt.at(-1)).toMatchObject({ id: "run_empty", expertKey: "(unknown)", status: "proceeding" })
  })
})
