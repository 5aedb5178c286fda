import { describe, expect, it } from "vitest"
import { rebuildRunsFromEvents } from "../job-tree/rebuild-from-events.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["designer", "programmer", "tester"]

[experts."designer"]
instruction = "Design."
delegates = ["artist"]

[experts."programmer"]
instruction = "Program."

[experts."tester"]
instruction = "Test."

[experts."artist"]
instruction = "Draw."
`

const delegateAll = {
  toolCalls: [
    { id: "d", name: "delegate__designer", arguments: { query: "design a level" } },
    { id: "p", name: "delegate__programmer", arguments: { query: "write the game" } },
    { id: "t", name: "delegate__tester", arguments: { query: "test the game" } },
  ],
}

describe("delegation across sandboxes", () => {
  it("runs three delegates in parallel, one of them delegating again, and resumes each parent with the answers", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [delegateAll, (request) => ({ text: `Team says: ${JSON.stringify(toolAnswers(request))}` })],
      designer: [
        { toolCalls: [{ id: "a", name: "delegate__artist", arguments: { query: "draw the map" } }] },
        (request) => ({ text: `level with ${lastInput(request)}` }),
      ],
      artist: [{ text: "a map" }],
      programmer: [{ text: "code done" }],
      tester: [{ text: "all green" }],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "Make a game",
    })
    expect(result.status).toBe("completed")
    expect(result.text).toBe('Team says: ["level with a map","code done","all green"]')

    const runs = await ws.store.listRuns(result.job.id)
    const byKey = (key: string) => runs.filter((run) => run.expertKey === key)
    expect(byKey("lead").map((run) => run.status)).toEqual(["stoppedByDelegate", "completed"])
    expect(byKey("designer").map((run) => run.status)).toEqual(["stoppedByDelegate", "completed"])
    expect(byKey("artist")[0]?.parentRunId).toBe(byKey("designer")[0]?.id)
    // Every child of the first lead segment points at it, and the three ran at the same time.
    const children = runs.filter((run) => run.parentRunId === byKey("lead")[0]?.id && !run.resumedFrom)
    expect(children.map((run) => run.expertKey).sort()).toEqual(["designer", "programmer", "tester"])
    const overlap =
      Math.min(...children.map((run) => run.finishedAt ?? 0)) >
      Math.max(...children.map((run) => run.startedAt))
    expect(overlap).toBe(true)
    // Steps: lead 1 + designer 3 (delegate, fold the result, answer) + artist 1 + programmer 1 + tester 1
    // + the lead's resumed segment 2 (fold the results, answer).
    expect(result.job.totalSteps).toBe(9)

    // The tree rebuilt from the event logs alone equals the stored records.
    const rebuilt = await rebuildRunsFromEvents(ws.store, result.job.id)
    // Compared as sets: parallel runs may start in the same millisecond.
    const rows = (list: unknown[][]) => list.map((row) => JSON.stringify(row)).sort()
    const fromEvents = rebuilt.map((node) => [
      node.runId,
      node.expertKey,
      node.parentRunId,
      node.parentToolCallId,
      node.resumedFrom,
      node.status,
      node.checkpointIds.at(-1),
    ])
    const fromRecords = runs.map((run) => [
      run.id,
      run.expertKey,
      run.parentRunId,
      run.parentToolCallId,
      run.resumedFrom,
      run.status,
      run.lastCheckpointId,
    ])
    expect(rows(fromEvents)).toEqual(rows(fromRecords))
    const checkpoints = (await ws.store.listCheckpoints(result.job.id))
      .map((checkpoint) => checkpoint.id)
      .sort()
    expect(rebuilt.flatMap((node) => node.checkpointIds).sort()).toEqual(checkpoints)
  })

  it("gives a failing delegate's error to its parent, and the job goes on", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "p", name: "delegate__programmer", arguments: { query: "write it" } }] },
        (request) => ({ text: `Handled: ${lastInput(request)}` }),
      ],
      programmer: [{ type: "error", status: 401, message: "invalid key for this model" }],
    })
    const result = await runTestJob(ws, { toml: configText(llm.url, TEAM), expertKey: "lead", query: "Go" })
    expect(result.status).toBe("completed")
    expect(result.text).toMatch(
      /^Handled: Error: The delegate "programmer" failed: .*invalid key for this model/,
    )
    const runs = await ws.store.listRuns(result.job.id)
    expect(runs.find((run) => run.expertKey === "programmer")).toMatchObject({
      status: "stoppedByError",
      error: { code: "provider.auth", statusCode: 401 },
    })
  })

  it("holds the job's step budget across parallel delegates: each gets a share of what is left", async () => {
    await using ws = await makeJobWorkspace()
    // Each delegate would call tools for ever; the job has 12 steps in all.
    const busy = () => ({ toolCalls: [{ name: "healthCheck", arguments: {} }] })
    await using llm = await startExpertScript({
      lead: [delegateAll, { text: "the team ran out of steps" }],
      designer: Array.from({ length: 20 }, busy),
      programmer: Array.from({ length: 20 }, busy),
      tester: Array.from({ length: 20 }, busy),
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "Go",
      settings: { maxSteps: 12 },
    })
    // Lead: 1 step. Left 11, of which 2 stay with the lead: each delegate gets 3. The original would let each of
    // them take all 11 (1 + 33 steps in all).
    for (const key of ["designer", "programmer", "tester"]) expect(llm.byExpert(key)).toHaveLength(3)
    expect(result).toMatchObject({ status: "completed", text: "the team ran out of steps" })
    expect(result.job.totalSteps).toBe(1 + 3 * 3 + 2)
    const runs = await ws.store.listRuns(result.job.id)
    expect(runs.filter((run) => run.expertKey !== "lead").map((run) => run.status)).toEqual([
      "stoppedByExceededMaxSteps",
      "stoppedByExceededMaxSteps",
      "stoppedByExceededMaxSteps",
    ])
  })

  it("never goes over the budget when more delegates run at once than it has steps for", async () => {
    await using ws = await makeJobWorkspace()
    const busy = () => ({ toolCalls: [{ name: "healthCheck", arguments: {} }] })
    const calls = Array.from({ length: 12 }, (_, index) => ({
      id: `w${index}`,
      name: "delegate__programmer",
      arguments: { query: `part ${index}` },
    }))
    await using llm = await startExpertScript({
      lead: [{ toolCalls: calls }, { text: "done with what the budget allowed" }],
      programmer: Array.from({ length: 40 }, busy),
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "Go",
      settings: { maxSteps: 8, concurrency: 4 },
    })
    // Lead: 1 step; 7 left, 2 kept for the lead: 5 for the twelve delegates, one step each for the first five to
    // start; four running at once must not each take the last step left.
    expect(result.job.totalSteps).toBeLessThanOrEqual(8)
    expect(llm.byExpert("programmer")).toHaveLength(5)
    expect(result).toMatchObject({ status: "completed", text: "done with what the budget allowed" })
    // The lead's resumed segment: fold the results in, answer.
    expect(result.job.totalSteps).toBe(1 + 5 + 2)
  })

  it("stops the job when the coordinator itself has no step left", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      programmer: Array.from({ length: 5 }, () => ({ toolCalls: [{ name: "healthCheck", arguments: {} }] })),
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "programmer",
      query: "Go",
      settings: { maxSteps: 2 },
    })
    expect(result.status).toBe("stoppedByExceededMaxSteps")
    expect(result.job.totalSteps).toBe(2)
  })
})

function toolAnswers(request: { body: unknown }): string[] {
  const messages = (request.body as { messages: Array<{ role: string; content: unknown }> }).messages
  return messages.filter((message) => message.role === "tool").map((message) => String(message.content))
}
