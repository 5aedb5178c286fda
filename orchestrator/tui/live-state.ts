// What `perstack start` shows of a running job, as a pure fold over its events: the job tree's conversation fold
// (job-tree/conversation-tree.ts) plus what only the TUI shows: each node's model, context usage and doing, the
// streamed text, the tool activity and the pending question.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { ToolCall } from "../../runtime/protocol/tool.ts"
import {
  type ConversationNode,
  type ConversationTree,
  checkpointOf,
  emptyConversationTree,
  foldConversation,
} from "../job-tree/conversation-tree.ts"

export interface LiveNode extends ConversationNode {
  model?: string
  /** the last generation's prompt over the context window, 0..1 */
  contextUsage?: number
  /** what it is doing, for the tree line */
  activity: string
  error?: string
}

export interface ActivityLine {
  nodeId: string
  kind: "call" | "result" | "error"
  text: string
}

export interface LiveState extends ConversationTree<LiveNode> {
  jobId?: string
  query?: string
  /** the node whose stream is shown when the user has not picked one: the one that did something last */
  latest?: string
  /** per node: the reasoning of its current generation, and its answer text */
  reasoning: Record<string, string>
  answer: Record<string, string>
  /** tool calls and results, newest last, bounded */
  activity: ActivityLine[]
  /** the pending interactive tool call, when the job stopped for the user */
  question?: ToolCall
}

const STREAM_CHARS = 4000
const ACTIVITY_LINES = 200

export function initialLiveState(query?: string): LiveState {
  return {
    ...(query !== undefined ? { query } : {}),
    ...emptyConversationTree<LiveNode>(),
    reasoning: {},
    answer: {},
    activity: [],
  }
}

const startingNode = (node: ConversationNode): LiveNode => ({ ...node, activity: "Starting sandbox" })

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
  const next: LiveState = {
    ...state,
    ...foldConversation(state, event, startingNode),
    jobId: state.jobId ?? event.jobId,
  }
  const id = next.nodeOfRun[event.runId] as string
  const before = state.nodes[id]
  const node = { ...(next.nodes[id] as LiveNode) }
  next.nodes = { ...next.nodes, [id]: node }
  next.latest = id
  const log = (kind: ActivityLine["kind"], text: string) => {
    next.activity = [...next.activity, { nodeId: id, kind, text }].slice(-ACTIVITY_LINES)
  }
  const contextUsage = checkpointOf(event)?.contextWindowUsage
  if (contextUsage !== undefined) node.contextUsage = contextUsage
  switch (event.type) {
    case "sandboxStarted":
      // A later segment of a conversation already shown: its node goes on.
      if (node.id !== event.runId) node.activity = "Resuming"
      break
    case "initializeRuntime":
      node.model = event.model
      if (state.query === undefined && event.query !== undefined && node.parentId === undefined)
        next.query = event.query
      break
    case "startRun":
      node.activity = "Starting"
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
    case "stopRunByDelegate":
      node.activity = "Waiting for delegates"
      break
    case "stopRunByInteractiveTool": {
      node.activity = "Waiting for your answer"
      const call = event.checkpoint.pendingToolCalls?.[0]
      if (call) next.question = call
      break
    }
    case "completeRun":
      node.activity = "Completed"
      next.answer = { ...next.answer, [id]: tail(event.text) }
      break
    case "stopRunByError":
      node.error = event.error.message
      node.activity = `Failed: ${brief(event.error.message, 60)}`
      break
    case "stopRunByExceededMaxSteps":
      node.activity = "Out of steps"
      break
    case "sandboxExited":
      // The fold marks a segment whose sandbox went away while it ran.
      if (before?.state !== node.state)
        node.activity = event.reason === "cancelled" ? "Stopped" : `Sandbox ${event.reason}`
      break
    default:
      break
  }
  return next
}

/** A follow-up or an answer goes on in the same tree: the question is gone, the query is the new one. */
export function withNewQuery(state: LiveState, query: string | undefined): LiveState {
  const { question: _, ...rest } = state
  return { ...rest, ...(query !== undefined ? { query } : {}) }
}
