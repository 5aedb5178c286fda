// Folds a job's events into the activities a UI lists (upstream's processRunEventToActivity): deterministic, so
// the same events give the same activities, ids included, whether they arrive live or are replayed from the store.
import type { EventOf, PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Message, ToolResultContent } from "../../runtime/protocol/message.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import type { ToolCall, ToolResult } from "../../runtime/protocol/tool.ts"
import type { Activity, ActivityOf } from "./activity.ts"

const DELEGATE_SKILL_PREFIX = "delegate/"

type ToolKind = "tool" | "delegate" | "interactive"

interface ToolState {
  toolCall: ToolCall
  kind: ToolKind
  /** its activity was emitted (a delegate's: its delegate activity; the result of a delegate: `returned`) */
  logged: boolean
  returned: boolean
}

/** One run segment: a fresh run, a delegate, or a resume (each resume is a segment with its own run id). */
interface RunState {
  expertKey: string
  queryLogged: boolean
  lastActivityId?: string
  delegatedBy?: { expertKey: string; runId: string }
  /** reasoning not yet attached to an activity */
  reasoning?: string
  status: Status
}

/**
 * Mutable, so a long job folds in place: tool calls by id live across segments (a delegate's result arrives in
 * the parent's resumed segment, under a new run id).
 */
export interface ActivityProcessState {
  tools: Map<string, ToolState>
  runStates: Map<string, RunState>
  /** the latest segment that is not a delegate: its status is the job's */
  rootRunId?: string
}

export function createInitialActivityProcessState(): ActivityProcessState {
  return { tools: new Map(), runStates: new Map() }
}

/** The activities of a whole sequence of events (a stored log, a finished stream). */
export function toActivities(events: Iterable<PerstackEvent>): Activity[] {
  const state = createInitialActivityProcessState()
  const out: Activity[] = []
  for (const event of events) processRunEventToActivity(state, event, (activity) => out.push(activity))
  return out
}

/**
 * The job's status as its events tell it (the server's `complete` event tells it for sure): the root segment's,
 * "proceeding" while it waits for delegates; undefined before any run started.
 */
export function jobStatusOf(state: ActivityProcessState): Status | undefined {
  const root = state.rootRunId ? state.runStates.get(state.rootRunId) : undefined
  if (!root) return undefined
  return root.status === "stoppedByDelegate" ? "proceeding" : root.status
}

/** The root segment gave its final answer or stopped for good (an error, the step budget, a dead sandbox). */
export function isRootComplete(state: ActivityProcessState): boolean {
  const status = jobStatusOf(state)
  return status === "completed" || status === "stoppedByError" || status === "stoppedByExceededMaxSteps"
}

const textOf = (contents: readonly ToolResultContent[]) =>
  contents.map((part) => (part.type === "textPart" ? part.text : `[${part.type}]`)).join("\n")

const delegateKeyOf = (call: ToolCall) =>
  call.skillName.startsWith(DELEGATE_SKILL_PREFIX)
    ? call.skillName.slice(DELEGATE_SKILL_PREFIX.length)
    : call.toolName

const thinkingOf = (messages: readonly Message[]): string | undefined => {
  const parts = messages.flatMap((message) =>
    message.type === "expertMessage"
      ? message.contents.flatMap((part) => (part.type === "thinkingPart" ? [part.thinking] : []))
      : [],
  )
  return parts.length > 0 ? parts.join("\n") : undefined
}

/** A tool call and its result as a generalTool activity (upstream's toolToActivity, for every skill). */
export function toolToActivity(
  toolCall: ToolCall,
  toolResult: Pick<ToolResult, "result" | "isError">,
  reasoning: string | undefined,
  meta: Pick<Activity, "id" | "expertKey" | "runId" | "previousActivityId" | "delegatedBy">,
): ActivityOf<"generalTool"> {
  return {
    type: "generalTool",
    ...definedOnly({ ...meta, reasoning }),
    skillName: toolCall.skillName,
    toolName: toolCall.toolName,
    toolCallId: toolCall.id,
    args: toolCall.args,
    result: toolResult.result,
    ...(toolResult.isError ? { error: textOf(toolResult.result) } : {}),
  }
}

function definedOnly<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T
}

/** Processes one event, calling `addActivity` for each activity it completes (zero, one or several). */
export function processRunEventToActivity(
  state: ActivityProcessState,
  event: PerstackEvent,
  addActivity: (activity: Activity) => void,
): void {
  const expertKey = "expertKey" in event && event.expertKey ? event.expertKey : undefined
  let segment = state.runStates.get(event.runId)
  if (!segment) {
    // Runtime and orchestrator events may come before the run's first state event: they name no Expert for sure.
    if (!expertKey) return
    segment = { expertKey, queryLogged: false, status: "init" }
    state.runStates.set(event.runId, segment)
  }
  const fold: Fold = { state, segment, runId: event.runId, addActivity }
  switch (event.type) {
    case "startRun":
      onStartRun(fold, event)
      return
    case "completeStreamingReasoning":
      segment.reasoning = event.text
      return
    case "callTools":
    case "callDelegate":
      onCalls(fold, event)
      return
    case "callInteractiveTool":
      onInteractiveCall(fold, event)
      return
    // A call's result, the moment it finished; resolveToolResults and attemptCompletion repeat it at step end.
    case "recordToolResult":
    case "attemptCompletion":
      resolve(fold, event.toolResult)
      return
    case "resolveToolResults":
      for (const result of event.toolResults) resolve(fold, result)
      return
    case "finishAllToolCalls":
      onToolMessages(fold, event)
      return
    case "retry":
      emit(fold, "retry", `retry-${event.id}`, { error: event.reason, message: "" })
      return
    case "completeRun":
      segment.reasoning ??= thinkingOf(event.step.newMessages)
      segment.status = "completed"
      emit(fold, "complete", `completion-${event.runId}`, { text: event.text })
      return
    case "stopRunByError":
    case "stopRunByExceededMaxSteps":
      onStopped(fold, event)
      return
    case "stopRunByDelegate":
    case "stopRunByInteractiveTool":
      segment.status = event.type === "stopRunByDelegate" ? "stoppedByDelegate" : "stoppedByInteractiveTool"
      return
    case "sandboxExited":
      onSandboxExited(fold, event)
      return
    default:
      return
  }
}

/** One event's fold: the job's state, the segment it belongs to, and where its activities go. */
interface Fold {
  state: ActivityProcessState
  segment: RunState
  runId: string
  addActivity: (activity: Activity) => void
}

type Meta = "type" | "id" | "expertKey" | "runId" | "previousActivityId" | "delegatedBy"

/** An activity of the segment's, after its last one; it takes the reasoning not yet attached, unless told not to. */
function emit<T extends Activity["type"]>(
  { segment, runId, addActivity }: Fold,
  type: T,
  id: string,
  fields: Omit<ActivityOf<T>, Meta>,
  options: { withReasoning?: boolean } = {},
): void {
  const reasoning = options.withReasoning === false ? undefined : segment.reasoning
  if (options.withReasoning !== false) segment.reasoning = undefined
  addActivity({
    type,
    id,
    expertKey: segment.expertKey,
    runId,
    ...definedOnly({
      previousActivityId: segment.lastActivityId,
      delegatedBy: segment.delegatedBy,
      reasoning,
    }),
    ...fields,
  } as Activity)
  segment.lastActivityId = id
}

function emitTool(fold: Fold, tool: ToolState, result: Pick<ToolResult, "result" | "isError">): void {
  const { segment } = fold
  tool.logged = true
  const id = `action-${tool.toolCall.id}`
  const reasoning = segment.reasoning
  segment.reasoning = undefined
  fold.addActivity(
    toolToActivity(tool.toolCall, result, reasoning, {
      id,
      expertKey: segment.expertKey,
      runId: fold.runId,
      ...definedOnly({ previousActivityId: segment.lastActivityId, delegatedBy: segment.delegatedBy }),
    }),
  )
  segment.lastActivityId = id
}

/** Keeps the calls by id, across segments: a delegate's result arrives in the parent's resumed segment. */
function register({ state }: Fold, calls: readonly ToolCall[], kind?: ToolKind): void {
  for (const call of calls) {
    const known = state.tools.get(call.id)
    const callKind = kind ?? (call.skillName.startsWith(DELEGATE_SKILL_PREFIX) ? "delegate" : "tool")
    if (known) known.kind = known.kind === "tool" ? callKind : known.kind
    else state.tools.set(call.id, { toolCall: call, kind: callKind, logged: false, returned: false })
  }
}

function resolve(fold: Fold, result: Pick<ToolResult, "id" | "result" | "isError">): void {
  const tool = fold.state.tools.get(result.id)
  if (tool && tool.kind === "tool" && !tool.logged) emitTool(fold, tool, result)
}

function onStartRun(fold: Fold, event: EventOf<"startRun">): void {
  const { segment, state } = fold
  const by = event.initialCheckpoint.delegatedBy
  if (by && !segment.delegatedBy) segment.delegatedBy = { expertKey: by.expert.key, runId: by.runId }
  if (!segment.delegatedBy) state.rootRunId = event.runId
  segment.status = "proceeding"
  const resumed = ["stoppedByDelegate", "stoppedByInteractiveTool"].includes(event.initialCheckpoint.status)
  const user = event.inputMessages.find((message) => message.type === "userMessage")
  const text = user?.contents.flatMap((part) => (part.type === "textPart" ? [part.text] : [])).join("\n")
  if (text && !segment.queryLogged && !resumed) {
    segment.queryLogged = true
    emit(fold, "query", `query-${event.runId}`, { text }, { withReasoning: false })
  }
}

function onCalls(fold: Fold, event: EventOf<"callTools"> | EventOf<"callDelegate">): void {
  fold.segment.reasoning ??= thinkingOf([event.newMessage])
  register(fold, event.toolCalls, event.type === "callDelegate" ? "delegate" : undefined)
  if (event.type !== "callDelegate") return
  for (const call of event.toolCalls) {
    const tool = fold.state.tools.get(call.id) as ToolState
    if (tool.logged) continue
    tool.logged = true
    const query = typeof call.args.query === "string" ? call.args.query : ""
    emit(fold, "delegate", `delegate-${call.id}`, {
      delegateExpertKey: delegateKeyOf(call),
      query,
      toolCallId: call.id,
    })
  }
}

function onInteractiveCall(fold: Fold, event: EventOf<"callInteractiveTool">): void {
  fold.segment.reasoning ??= thinkingOf([event.newMessage])
  register(fold, [event.toolCall], "interactive")
  const tool = fold.state.tools.get(event.toolCall.id) as ToolState
  if (tool.logged) return
  tool.logged = true
  const { skillName, toolName, args, id } = event.toolCall
  emit(fold, "interactiveTool", `interactive-${id}`, { skillName, toolName, args, toolCallId: id })
}

/** The resumed segment's tool message: the delegates' answers, and any result not seen before. */
function onToolMessages(fold: Fold, event: EventOf<"finishAllToolCalls">): void {
  const returned: ActivityOf<"delegationComplete">["results"] = []
  for (const message of event.newMessages) {
    if (message.type !== "toolMessage") continue
    for (const part of message.contents) {
      if (part.type !== "toolResultPart") continue
      const tool = fold.state.tools.get(part.toolCallId)
      if (!tool) continue
      if (tool.kind === "delegate" && !tool.returned) {
        tool.returned = true
        returned.push({
          toolCallId: part.toolCallId,
          delegateExpertKey: delegateKeyOf(tool.toolCall),
          text: textOf(part.contents),
          isError: part.isError === true,
        })
      } else if (tool.kind === "tool" && !tool.logged) {
        emitTool(fold, tool, { result: part.contents, ...(part.isError ? { isError: true } : {}) })
      }
    }
  }
  if (returned.length === 0) return
  const complete = { count: returned.length, results: returned }
  emit(fold, "delegationComplete", `delegation-complete-${event.id}`, complete, { withReasoning: false })
}

function onStopped(
  fold: Fold,
  event: EventOf<"stopRunByError"> | EventOf<"stopRunByExceededMaxSteps">,
): void {
  if (event.type === "stopRunByError") {
    fold.segment.status = "stoppedByError"
    emit(fold, "error", `error-${event.id}`, {
      error: event.error.message,
      errorName: event.error.name,
      isRetryable: event.error.isRetryable,
      ...(event.error.code ? { code: event.error.code } : {}),
    })
    return
  }
  fold.segment.status = "stoppedByExceededMaxSteps"
  emit(fold, "error", `error-${event.id}`, {
    error: "the job's step budget is spent",
    errorName: "ExceededMaxSteps",
    isRetryable: true,
    code: "run.exceededMaxSteps",
  })
}

/** A sandbox that ended before its run did: it died, timed out, or was cancelled. */
function onSandboxExited(fold: Fold, event: EventOf<"sandboxExited">): void {
  const { segment } = fold
  if (event.reason === "completed" || (segment.status !== "proceeding" && segment.status !== "init")) return
  const cancelled = event.reason === "cancelled"
  segment.status = cancelled ? "stoppedByCancel" : "stoppedByError"
  const error = {
    error: cancelled ? "the run was cancelled" : `the sandbox ended early: ${event.reason}`,
    errorName: cancelled ? "Cancelled" : "SandboxExited",
    isRetryable: true,
    code: `sandbox.${event.reason}`,
  }
  emit(fold, "error", `error-${event.id}`, error, { withReasoning: false })
}
