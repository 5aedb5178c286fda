import { readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const FITNESS = `[experts."fitness-assistant"]
description = "Assists users with their fitness journey"
instruction = "Keep records in fitness-log.md; delegate training menus to pro-trainer."
delegates = ["pro-trainer"]

[experts."pro-trainer"]
description = "Suggests training menus"
instruction = "Suggest training menus."
`

describe("a job on the local backend", () => {
  it("runs a single Expert to its answer and stores the job, run, events and checkpoints", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      "pro-trainer": [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "menu.md", text: "Squats 5x5\n" } }] },
        { text: "Menu written to menu.md" },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, FITNESS),
      expertKey: "pro-trainer",
      query: "Leg day?",
    })
    expect(result).toMatchObject({ status: "completed", text: "Menu written to menu.md" })
    expect(await readFile(path.join(ws.dir, "menu.md"), "utf8")).toBe("Squats 5x5\n")

    const job = await ws.store.readJob(result.job.id)
    expect(job).toMatchObject({ status: "completed", coordinatorExpertKey: "pro-trainer", totalSteps: 2 })
    const runs = await ws.store.listRuns(result.job.id)
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({
      expertKey: "pro-trainer",
      status: "completed",
      sandbox: { backend: "local" },
    })
    const checkpoints = await ws.store.listCheckpoints(result.job.id)
    expect(checkpoints.map((checkpoint) => [checkpoint.stepNumber, checkpoint.status])).toEqual([
      [1, "proceeding"],
      [2, "completed"],
    ])
    const stored = []
    for await (const event of ws.store.readEvents(result.job.id, runs[0]?.id ?? "")) stored.push(event.type)
    expect(stored[0]).toBe("sandboxStarted")
    expect(stored.slice(-2)).toEqual(["completeRun", "sandboxExited"])
    expect(stored).toEqual(result.events.map((event) => event.type))
  })

  it("delegates to the pro trainer in its own sandbox and resumes the coordinator with the answer", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      "fitness-assistant": [
        { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "A 20-minute HIIT plan" } }] },
        (request) => ({ text: `Logged: ${lastInput(request)}` }),
      ],
      "pro-trainer": [{ text: "Burpees 40s on, 20s off, x20" }],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, FITNESS),
      expertKey: "fitness-assistant",
      query: "Plan today",
    })
    expect(result).toMatchObject({ status: "completed", text: "Logged: Burpees 40s on, 20s off, x20" })
    expect(lastInput(llm.byExpert("pro-trainer")[0] ?? ({ body: {} } as never))).toBe("A 20-minute HIIT plan")

    const runs = await ws.store.listRuns(result.job.id)
    expect(
      runs.map((run) => [run.expertKey, run.status, Boolean(run.parentRunId), Boolean(run.resumedFrom)]),
    ).toEqual([
      ["fitness-assistant", "stoppedByDelegate", false, false],
      ["pro-trainer", "completed", true, false],
      ["fitness-assistant", "completed", false, true],
    ])
    const pids = new Set(
      result.events.flatMap((event) => (event.type === "sandboxStarted" ? [event.sandboxId] : [])),
    )
    expect(pids.size).toBe(3)
  })
})
