import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import { type Activity, activitySchema } from "./activity.ts"
import {
  createInitialActivityProcessState,
  isRootComplete,
  jobStatusOf,
  processRunEventToActivity,
  toActivities,
} from "./event-to-activity.ts"
import { groupActivitiesByRun } from "./group-by-run.ts"
import { initialStreamingState, reduceStreaming } from "./streaming-state.ts"

/** Event logs recorded from real `perstack serve` jobs (scripted LLM), frozen: read, never regenerated. */
const recorded = (name: string): PerstackEvent[] =>
  readFileSync(path.join(import.meta.dirname, "fixtures", `${name}.ndjson`), "utf8")
    .trim()
    .split("\n")
    .map((line) => perstackEventSchema.parse(JSON.parse(line)))

/** What a UI would print of an activity. */
function lineOf(activity: Activity): string {
  switch (activity.type) {
    case "query":
    case "complete":
      return `${activity.expertKey} ${activity.type}: ${activity.text}`
    case "generalTool":
      return `${activity.expertKey} tool ${activity.toolName}${activity.error ? " failed" : ""}`
    case "delegate":
      return `${activity.expertKey} delegate ${activity.delegateExpertKey}: ${activity.query}`
    case "delegationComplete":
      return `${activity.expertKey} delegates returned: ${activity.results.map((result) => `${result.delegateExpertKey}${result.isError ? " (error)" : ""}: ${result.text}`).join(", ")}`
    case "interactiveTool":
      return `${activity.expertKey} asks ${activity.toolName} ${JSON.stringify(activity.args)}`
    case "error":
      return `${activity.expertKey} error ${activity.code}: ${activity.error}`
    case "retry":
      return `${activity.expertKey} retry: ${activity.error}`
  }
}
const lines = (events: PerstackEvent[]) => toActivities(events).map(lineOf)

const fold = (events: PerstackEvent[]) => {
  const state = createInitialActivityProcessState()
  for (const event of events) processRunEventToActivity(state, event, () => {})
  return { status: jobStatusOf(state), complete: isRootComplete(state) }
}

describe("event-to-activity", () => {
  it("lists a delegation in order: query, tool, delegate, the delegate's own activities, its return, the answer", () => {
    const events = recorded("delegation")
    expect(lines(events)).toEqual([
      "lead query: Go",
      "lead tool healthCheck",
      "lead delegate helper: help me",
      "helper query: help me",
      "helper tool healthCheck",
      "helper complete: helped",
      "lead delegates returned: helper: helped",
      "lead complete: done",
    ])
    const activities = toActivities(events)
    for (const activity of activities) expect(activitySchema.parse(activity)).toEqual(activity)
    // Ids are unique and stable: a replay of the same events gives the same activities.
    expect(new Set(activities.map((activity) => activity.id)).size).toBe(activities.length)
    expect(toActivities(events)).toEqual(activities)

    const [query, tool, delegate, helperQuery, helperTool, helperDone, returned, done] = activities
    expect(tool).toMatchObject({ type: "generalTool", previousActivityId: query?.id, toolCallId: "call_2" })
    expect(tool?.type === "generalTool" && tool.result?.[0]).toMatchObject({ type: "textPart" })
    expect(delegate).toMatchObject({ type: "delegate", toolCallId: "call_1" })
    const leadRun = query?.runId
    for (const activity of [helperQuery, helperTool, helperDone])
      expect(activity?.delegatedBy).toEqual({ expertKey: "lead", runId: leadRun })
    expect(helperTool?.reasoning).toBe("thinking")
    // The parent goes on in a new segment (its own run id) after its delegate returned.
    expect(returned).toMatchObject({ type: "delegationComplete", count: 1 })
    expect(returned?.runId).not.toBe(leadRun)
    expect(done?.delegatedBy).toBeUndefined()

    const groups = groupActivitiesByRun(activities)
    expect(
      groups.map((group) => [group.expertKey, group.activities.length, group.delegatedBy?.expertKey]),
    ).toEqual([
      ["lead", 3, undefined],
      ["helper", 3, "lead"],
      ["lead", 2, undefined],
    ])
    expect(fold(events)).toEqual({ status: "completed", complete: true })
  })

  it("shows a failed delegate's error, and the parent getting the error back as its delegate's result", () => {
    expect(lines(recorded("delegate-error"))).toEqual([
      "lead query: Go",
      "lead delegate helper: help me",
      "helper query: help me",
      "helper error provider.badRequest: 400 bad request from provider",
      'lead delegates returned: helper (error): The delegate "helper" failed: 400 bad request from provider',
      "lead complete: lead done",
    ])
  })

  it("shows the question of an interactive tool; the job waits, then goes on after the answer", () => {
    const events = recorded("interactive")
    const stop = events.findIndex((event) => event.type === "stopRunByInteractiveTool")
    expect(fold(events.slice(0, stop + 1))).toEqual({ status: "stoppedByInteractiveTool", complete: false })
    expect(toActivities(events).find((activity) => activity.type === "interactiveTool")).toMatchObject({
      toolCallId: "q",
    })
    expect(lines(events)).toEqual([
      "asker query: Ask me",
      'asker asks confirm {"question":"sure?"}',
      "asker complete: confirmed",
    ])
    expect(fold(events)).toEqual({ status: "completed", complete: true })
  })

  it("shows a follow-up query as a new query, and the job as running again until it answers", () => {
    const events = recorded("follow-up")
    expect(lines(events)).toEqual([
      "writer query: Write a poem",
      "writer complete: a poem",
      "writer query: Another",
      "writer complete: a second poem",
    ])
    const second = events.findLastIndex((event) => event.type === "startRun")
    expect(fold(events.slice(0, second + 1))).toEqual({ status: "proceeding", complete: false })
  })

  it("shows a sandbox that died mid-run, a retry, and a spent step budget as errors", () => {
    const events = recorded("follow-up").slice(0, 4)
    const exited = recorded("follow-up")[5] as Extract<PerstackEvent, { type: "sandboxExited" }>
    const crash = { ...exited, reason: "crashed" as const, exitCode: 137 }
    expect(lines([...events, crash])).toEqual([
      "writer query: Write a poem",
      "writer error sandbox.crashed: the sandbox ended early: crashed",
    ])
    expect(fold([...events, crash])).toEqual({ status: "stoppedByError", complete: true })

    const start = events[2] as Extract<PerstackEvent, { type: "startRun" }>
    const base = {
      protocolVersion: start.protocolVersion,
      jobId: start.jobId,
      runId: start.runId,
      expertKey: start.expertKey,
      stepNumber: 1,
      timestamp: start.timestamp,
    }
    const usage = {
      inputTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      totalTokens: 0,
      cachedInputTokens: 0,
    }
    const retry = perstackEventSchema.parse({
      ...base,
      id: "e-retry",
      type: "retry",
      reason: "the reply was empty",
      newMessages: [],
      usage,
    })
    const retried = [...events.slice(0, 3), retry]
    expect(lines(retried)).toEqual(["writer query: Write a poem", "writer retry: the reply was empty"])
  })

  it("keeps the streamed text per run while it streams, and drops it when the run stops", () => {
    const events = recorded("delegation")
    const helperRun = events.find((event) => event.type === "startRun" && event.expertKey === "helper")?.runId
    const reasoned = events.findIndex((event) => event.type === "completeStreamingReasoning")
    let streaming = initialStreamingState
    for (const event of events.slice(0, reasoned)) streaming = reduceStreaming(streaming, event)
    expect(streaming.runs[helperRun as string]).toEqual({
      expertKey: "helper",
      reasoning: "thinking",
      isReasoningActive: true,
    })
    for (const event of events.slice(reasoned)) streaming = reduceStreaming(streaming, event)
    expect(streaming.runs).toEqual({})
  })
})
