// The live delegation tree of a running job, as a pure fold over its events: one node per conversation (its resumed
// segments folded in, the way `perstack log` draws them one after the other), each node's state, each segment's tokens.
import { isTerminalEvent, type PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { RunMark } from "./run-marks.ts"
import { segmentUsage } from "./segment-usage.ts"

export type ConversationState =
  | "starting"
  | "running"
  | "waitingForDelegates"
  | "waitingForUser"
  | "completed"
  | "failed"
  | "outOfSteps"
  | "stopped"

export interface ConversationNode {
  /** the run id of the conversation's first segment seen: stable while the conversation is resumed */
  id: string
  /** the segment running now (or the last one) */
  runId: string
  expertKey: string
  parentId?: string
  /** a later segment took over (after its delegates answered, or after a stop) */
  resumed: boolean
  state: ConversationState
  children: string[]
}

/** Generic in its nodes so that a view can keep its own fields on them; the fold keeps what it does not know. */
export interface ConversationTree<N extends ConversationNode = ConversationNode> {
  nodes: Record<string, N>
  roots: string[]
  /** each segment's own tokens: its latest checkpoint's usage less the usage it started from */
  segmentUsage: Record<string, Usage>
  startUsage: Record<string, Usage>
  /** run id → node id; checkpoint id → the run that ended there (how a resumed segment finds its node) */
  nodeOfRun: Record<string, string>
  runOfCheckpoint: Record<string, string>
}

/** How a view makes a node of its own from a new conversation's node. */
export type NewNode<N extends ConversationNode> = (node: ConversationNode) => N

export function emptyConversationTree<N extends ConversationNode>(): ConversationTree<N> {
  return { nodes: {}, roots: [], segmentUsage: {}, startUsage: {}, nodeOfRun: {}, runOfCheckpoint: {} }
}

type Checkpointed = { id: string; usage: Usage; contextWindowUsage?: number | undefined }

/** Where an event leaves its segment: the next step's checkpoint after a finished step, the last one at its end. */
export function checkpointOf(event: PerstackEvent): Checkpointed | undefined {
  if (event.type === "continueToNextStep") return event.nextCheckpoint
  return isTerminalEvent(event) ? event.checkpoint : undefined
}

const STOPPED_AS: Partial<Record<PerstackEvent["type"], ConversationState>> = {
  startRun: "running",
  stopRunByDelegate: "waitingForDelegates",
  stopRunByInteractiveTool: "waitingForUser",
  completeRun: "completed",
  stopRunByError: "failed",
  stopRunByExceededMaxSteps: "outOfSteps",
}

/** The tree after `event`; the event's node is `nodeOfRun[event.runId]` of the result. */
export function foldConversation<N extends ConversationNode>(
  tree: ConversationTree<N>,
  event: PerstackEvent,
  newNode: NewNode<N>,
): ConversationTree<N> {
  const next: ConversationTree<N> = {
    nodes: tree.nodes,
    roots: tree.roots,
    segmentUsage: tree.segmentUsage,
    startUsage: tree.startUsage,
    nodeOfRun: tree.nodeOfRun,
    runOfCheckpoint: tree.runOfCheckpoint,
  }
  if (event.type === "sandboxStarted") {
    startSegment(next, event, newNode)
    return next
  }
  // Events of a run whose sandboxStarted was not seen (it cannot happen with run(), but the tree stays whole).
  const id =
    next.nodeOfRun[event.runId] ??
    addNode(next, newNode, event.runId, "expertKey" in event ? event.expertKey : "(unknown)")
  const node = next.nodes[id] as N
  const set = (state: ConversationState) => {
    next.nodes = { ...next.nodes, [id]: { ...node, state } }
  }
  if (event.type === "startRun")
    next.startUsage = { ...next.startUsage, [event.runId]: event.initialCheckpoint.usage }
  const checkpoint = checkpointOf(event)
  if (checkpoint) {
    const start = next.startUsage[event.runId] ?? emptyUsage()
    next.segmentUsage = { ...next.segmentUsage, [event.runId]: segmentUsage(checkpoint.usage, start) }
    next.runOfCheckpoint = { ...next.runOfCheckpoint, [checkpoint.id]: event.runId }
  }
  const state = STOPPED_AS[event.type]
  if (state) set(state)
  if (event.type === "sandboxExited" && node.runId === event.runId && isRunning(node.state))
    set(event.reason === "cancelled" ? "stopped" : "failed")
  return next
}

/** Adds a node for a run (mutating the fresh copy `tree`), under its parent's conversation when known. */
function addNode<N extends ConversationNode>(
  tree: ConversationTree<N>,
  newNode: NewNode<N>,
  runId: string,
  expertKey: string,
  parentRunId?: string,
): string {
  const parentId = parentRunId ? tree.nodeOfRun[parentRunId] : undefined
  const node = newNode({
    id: runId,
    runId,
    expertKey,
    ...(parentId ? { parentId } : {}),
    resumed: false,
    state: "starting",
    children: [],
  })
  tree.nodes = { ...tree.nodes, [runId]: node }
  tree.nodeOfRun = { ...tree.nodeOfRun, [runId]: runId }
  if (parentId) {
    const parent = tree.nodes[parentId] as N
    tree.nodes[parentId] = { ...parent, children: [...parent.children, runId] }
  } else tree.roots = [...tree.roots, runId]
  return runId
}

function startSegment<N extends ConversationNode>(
  tree: ConversationTree<N>,
  event: Extract<PerstackEvent, { type: "sandboxStarted" }>,
  newNode: NewNode<N>,
): void {
  const previousRun = event.resumedFrom ? tree.runOfCheckpoint[event.resumedFrom] : undefined
  const existing = previousRun ? tree.nodeOfRun[previousRun] : undefined
  if (!existing) {
    addNode(tree, newNode, event.runId, event.expertKey ?? "(unknown)", event.parentRunId)
    return
  }
  // A later segment of a conversation the tree already shows: the same node goes on, marked resumed.
  const node = tree.nodes[existing] as N
  tree.nodes = {
    ...tree.nodes,
    [existing]: { ...node, runId: event.runId, resumed: true, state: "starting" },
  }
  tree.nodeOfRun = { ...tree.nodeOfRun, [event.runId]: existing }
}

const isRunning = (state: ConversationState) => state === "running" || state === "starting"

/** How a node is marked: one still starting its sandbox is drawn as running (something is under way). */
export function markOfState(state: ConversationState): RunMark {
  return state === "starting" ? "running" : state
}

/** The tree in display order, depth first, with each node's depth. */
export function treeOrder<N extends ConversationNode>(
  tree: ConversationTree<N>,
): Array<{ node: N; depth: number }> {
  const out: Array<{ node: N; depth: number }> = []
  const visit = (id: string, depth: number) => {
    const node = tree.nodes[id]
    if (!node) return
    out.push({ node, depth })
    for (const child of node.children) visit(child, depth + 1)
  }
  for (const root of tree.roots) visit(root, 0)
  return out
}

/** The whole job's tokens, summed over its segments. */
export function totalUsage(tree: ConversationTree<ConversationNode>): Usage {
  return Object.values(tree.segmentUsage).reduce(addUsage, emptyUsage())
}

export function countStates(tree: ConversationTree<ConversationNode>): { running: number; waiting: number } {
  let running = 0
  let waiting = 0
  for (const node of Object.values(tree.nodes)) {
    if (isRunning(node.state)) running++
    else if (node.state === "waitingForDelegates" || node.state === "waitingForUser") waiting++
  }
  return { running, waiting }
}
