// What `perstack start` shows of a running job, as a pure fold over its events: the delegation tree (one node per
// conversation, its resumed segments folded in), each node's state, the token totals, and the streamed text.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { ToolCall } from "../../runtime/protocol/tool.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"

export type LiveRunState =
  | "starting"
  | "running"
  | "waitingForDelegates"
  | "waitingForUser"
  | "completed"
  | "failed"
  | "outOfSteps"
  | "stopped"

export interface LiveNode {
  /** the run id of the conversation's first segment seen: stable while the conversation is resumed */
  id: string
  /** the segment running now (or the last one) */
  runId: string
  expertKey: string
  parentId?: string
  /** a later segment took over (after its delegates answered, or after a stop) */
  resumed: boolean
  state: LiveRunState
  model?: string
  /** the last generation's prompt over the context window, 0..1 */
  contextUsage?: number
  /** what it is doing, for the tree line */
  activity: string
  error?: string
  children: string[]
}

export interface ActivityLine {
  nodeId: string
  kind: "call" | "result" | "error"
  text: string
}

export interface LiveState {
  jobId?: string
  query?: string
  nodes: Record<string, LiveNode>
  roots: string[]
  /** the node whose stream is shown when the user has not picked one: the one that did something last */
  latest?: string
  /** per node: the reasoning of its current generation, and its answer text */
  reasoning: Record<string, string>
  answer: Record<string, string>
  /** tool calls and results, newest last, bounded */
  activity: ActivityLine[]
  /** each segment's own tokens: its latest checkpoint's usage less the usage it started from */
  segmentUsage: Record<string, Usage>
  startUsage: Record<string, Usage>
  /** run id → node id; checkpoint id → the run that ended there (how a resumed segment finds its node) */
  nodeOfRun: Record<string, string>
  runOfCheckpoint: Record<string, string>
  /** the pending interactive tool call, when the job stopped for the user */
  question?: ToolCall
}

const STREAM_CHARS = 4000
const ACTIVITY_LINES = 200

export function initialLiveState(query?: string): LiveState {
  return {
    ...(query !== undefined ? { query } : {}),
    nodes: {},
    roots: [],
    reasoning: {},
    answer: {},
    activity: [],
    segmentUsage: {},
    startUsage: {},
    nodeOfRun: {},
    runOfCheckpoint: {},
  }
}

/** The whole job's tokens, summed over its segments. */
export function totalUsage(state: LiveState): Usage {
  return Object.values(state.segmentUsage).reduce(addUsage, emptyUsage())
}

/** Cached input over input, 0..1 (0 when nothing was sent yet). */
export function cacheHitRate(usage: Usage): number {
  return usage.inputTokens === 0 ? 0 : usage.cachedInputTokens / usage.inputTokens
}

export function countStates(state: LiveState): { running: number; waiting: number } {
  let running = 0
  let waiting = 0
  for (const node of Object.values(state.nodes)) {
    if (node.state === "running" || node.state === "starting") running++
    else if (node.state === "waitingForDelegates" || node.state === "waitingForUser") waiting++
  }
  return { running, waiting }
}

const tail = (text: string) => (text.length > STREAM_CHARS ? text.slice(-STREAM_CHARS) : text)

function brief(value: unknown, max = 60): string {
  const text = typeof value === "string" ? value : JSON.stringify(value)
  const flat = (text ?? "").replace(/\s+/g, " ")
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function callText(call: ToolCall): string {
  return `${call.toolName}(${brief(call.args)})`
}

export function liveReducer(state: LiveState, event: PerstackEvent): LiveState {
  const next: LiveState = { ...state, jobId: state.jobId ?? event.jobId }
  if (event.type === "sandboxStarted") return startSegment(next, event)
  const nodeId = next.nodeOfRun[event.runId]
  // Events of a run whose sandboxStarted was not seen (it cannot happen with run(), but the state stays whole).
  const id = nodeId ?? ensureNode(next, event.runId, "expertKey" in event ? event.expertKey : "(unknown)")
  const node = { ...(next.nodes[id] as LiveNode) }
  next.nodes = { ...next.nodes, [id]: node }
  next.latest = id
  const log = (kind: ActivityLine["kind"], text: string) => {
    next.activity = [...next.activity, { nodeId: id, kind, text }].slice(-ACTIVITY_LINES)
  }
  switch (event.type) {
    case "initializeRuntime":
      node.model = event.model
      if (state.query === undefined && event.query !== undefined && node.parentId === undefined)
        next.query = event.query
      break
    case "startRun":
      node.state = "running"
      node.activity = "Starting"
      next.startUsage = { ...next.startUsage, [event.runId]: event.initialCheckpoint.usage }
      // A new segment: what the last one streamed is history now.
      next.reasoning = { ...next.reasoning, [id]: "" }
      next.answer = { ...next.answer, [id]: "" }
      break
    case "startGeneration":
      node.activity = "Generating"
      break
    case "startStreamingReasoning":
      node.activity = "Streaming reasoning"
      next.reasoning = { ...next.reasoning, [id]: "" }
      break
    case "streamReasoning":
      next.reasoning = { ...next.reasoning, [id]: tail((next.reasoning[id] ?? "") + event.delta) }
      break
    case "completeStreamingReasoning":
      next.reasoning = { ...next.reasoning, [id]: tail(event.text) }
      break
    case "startStreamingRunResult":
      node.activity = "Streaming answer"
      next.answer = { ...next.answer, [id]: "" }
      break
    case "streamRunResult":
      next.answer = { ...next.answer, [id]: tail((next.answer[id] ?? "") + event.delta) }
      break
    case "completeStreamingRunResult":
      next.answer = { ...next.answer, [id]: tail(event.text) }
      break
    case "callTools":
      node.activity = `Calling ${event.toolCalls.map((call) => call.toolName).join(", ")}`
      for (const call of event.toolCalls) log("call", callText(call))
      break
    case "callDelegate":
      // Its calls were logged with callTools already.
      node.activity = "Delegating"
      break
    case "callInteractiveTool":
      node.activity = `Asking: ${event.toolCall.toolName}`
      log("call", callText(event.toolCall))
      break
    case "resolveToolResults":
      for (const result of event.toolResults) {
        const text = result.result.map((part) => ("text" in part ? part.text : `[${part.type}]`)).join(" ")
        log(result.isError ? "error" : "result", `${result.toolName}: ${brief(text, 80)}`)
      }
      break
    case "retry":
      node.activity = `Retrying: ${brief(event.reason, 40)}`
      break
    case "continueToNextStep":
      recordCheckpoint(next, node, event.runId, event.nextCheckpoint)
      break
    case "stopRunByDelegate":
      recordCheckpoint(next, node, event.runId, event.checkpoint)
      node.state = "waitingForDelegates"
      node.activity = "Waiting for delegates"
      break
    case "stopRunByInteractiveTool": {
      recordCheckpoint(next, node, event.runId, event.checkpoint)
      node.state = "waitingForUser"
      node.activity = "Waiting for your answer"
      const call = event.checkpoint.pendingToolCalls?.[0]
      if (call) next.question = call
      break
    }
    case "completeRun":
      recordCheckpoint(next, node, event.runId, event.checkpoint)
      node.state = "completed"
      node.activity = "Completed"
      next.answer = { ...next.answer, [id]: tail(event.text) }
      break
    case "stopRunByError":
      recordCheckpoint(next, node, event.runId, event.checkpoint)
      node.state = "failed"
      node.error = event.error.message
      node.activity = `Failed: ${brief(event.error.message, 60)}`
      break
    case "stopRunByExceededMaxSteps":
      recordCheckpoint(next, node, event.runId, event.checkpoint)
      node.state = "outOfSteps"
      node.activity = "Out of steps"
      break
    case "sandboxExited":
      if (node.runId === event.runId && (node.state === "running" || node.state === "starting")) {
        node.state = event.reason === "cancelled" ? "stopped" : "failed"
        node.activity = event.reason === "cancelled" ? "Stopped" : `Sandbox ${event.reason}`
      }
      break
    default:
      break
  }
  return next
}

function recordCheckpoint(
  state: LiveState,
  node: LiveNode,
  runId: string,
  checkpoint: { id: string; usage: Usage; contextWindowUsage?: number | undefined },
): void {
  const start = state.startUsage[runId] ?? emptyUsage()
  state.segmentUsage = { ...state.segmentUsage, [runId]: subtract(checkpoint.usage, start) }
  state.runOfCheckpoint = { ...state.runOfCheckpoint, [checkpoint.id]: runId }
  if (checkpoint.contextWindowUsage !== undefined) node.contextUsage = checkpoint.contextWindowUsage
}

function subtract(a: Usage, b: Usage): Usage {
  const field = (key: keyof Usage) => Math.max(0, a[key] - b[key])
  return {
    inputTokens: field("inputTokens"),
    outputTokens: field("outputTokens"),
    reasoningTokens: field("reasoningTokens"),
    totalTokens: field("totalTokens"),
    cachedInputTokens: field("cachedInputTokens"),
  }
}

/** Adds a node for a run (mutating the fresh copy `state`), under its parent's conversation when known. */
function ensureNode(state: LiveState, runId: string, expertKey: string, parentRunId?: string): string {
  const parentId = parentRunId ? state.nodeOfRun[parentRunId] : undefined
  const node: LiveNode = {
    id: runId,
    runId,
    expertKey,
    ...(parentId ? { parentId } : {}),
    resumed: false,
    state: "starting",
    activity: "Starting sandbox",
    children: [],
  }
  state.nodes = { ...state.nodes, [runId]: node }
  state.nodeOfRun = { ...state.nodeOfRun, [runId]: runId }
  if (parentId) {
    const parent = state.nodes[parentId] as LiveNode
    state.nodes[parentId] = { ...parent, children: [...parent.children, runId] }
  } else state.roots = [...state.roots, runId]
  return runId
}

function startSegment(
  state: LiveState,
  event: Extract<PerstackEvent, { type: "sandboxStarted" }>,
): LiveState {
  const previousRun = event.resumedFrom ? state.runOfCheckpoint[event.resumedFrom] : undefined
  const existing = previousRun ? state.nodeOfRun[previousRun] : undefined
  state.latest = existing
  if (!existing) {
    const id = ensureNode(state, event.runId, event.expertKey ?? "(unknown)", event.parentRunId)
    state.latest = id
    return state
  }
  // A later segment of a conversation the tree already shows: the same node goes on, marked resumed.
  const node = state.nodes[existing] as LiveNode
  state.nodes = {
    ...state.nodes,
    [existing]: { ...node, runId: event.runId, resumed: true, state: "starting", activity: "Resuming" },
  }
  state.nodeOfRun = { ...state.nodeOfRun, [event.runId]: existing }
  return state
}

/** The tree in display order, depth first, with each node's depth. */
export function treeOrder(state: LiveState): Array<{ node: LiveNode; depth: number }> {
  const out: Array<{ node: LiveNode; depth: number }> = []
  const visit = (id: string, depth: number) => {
    const node = state.nodes[id]
    if (!node) return
    out.push({ node, depth })
    for (const child of node.children) visit(child, depth + 1)
  }
  for (const root of state.roots) visit(root, 0)
  return out
}

/** A follow-up or an answer goes on in the same tree: the question is gone, the query is the new one. */
export function withNewQuery(state: LiveState, query: string | undefined): LiveState {
  const { question: _, ...rest } = state
  return { ...rest, ...(query !== undefined ? { query } : {}) }
}
