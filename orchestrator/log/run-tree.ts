// The delegation tree of a job: the coordinator's conversation at the root, each run segment under the segment
// that delegated to it, a conversation's segments one after the other ("resumed"), siblings in start order.
import type { RunError } from "../../runtime/protocol/checkpoint.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import { emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { JobStore } from "../store/job-store.ts"
import type { JobRun } from "./job-records.ts"
import { type RunStats, scanRunStats } from "./run-stats.ts"

export type TreeMark =
  | "completed"
  | "failed"
  | "running"
  /** stopped for its delegates, and a later segment took their results */
  | "delegated"
  | "waitingForDelegates"
  /** stopped for the user, and a later segment took the answer */
  | "answered"
  | "waitingForUser"
  | "outOfSteps"
  | "stopped"

export interface RunTreeNode {
  runId: string
  expertKey: string
  status: Status
  /** how the line is marked: what the segment's status means once its successors are known */
  mark: TreeMark
  /** it continues an earlier segment of the same conversation */
  resumed: boolean
  resumedFrom?: string
  /** a retry after its sandbox died: the attempt (2, 3, ...) */
  attempt?: number
  parentRunId?: string
  parentToolCallId?: string
  query?: string
  steps: number
  events: number
  /** this segment's own tokens (run.json holds the conversation's running total) */
  usage: Usage
  error?: RunError
  startedAt: number
  finishedAt?: number
  children: RunTreeNode[]
}

/** Reads what the tree needs beyond the run records (one streaming pass per run log), then builds it. */
export async function loadRunTree(
  store: JobStore,
  jobId: string,
  runs: readonly JobRun[],
  signal?: AbortSignal,
): Promise<RunTreeNode[]> {
  const stats = await scanRunStats(
    store,
    jobId,
    runs.map((run) => run.id),
    signal,
  )
  return buildRunTree(runs, stats, await resumeStartUsage(store, jobId, runs))
}

/**
 * The usage at checkpoints segments resumed from that ended no other segment (--resume-from an earlier step):
 * a segment's own tokens are its usage minus the usage where it started.
 */
export async function resumeStartUsage(
  store: JobStore,
  jobId: string,
  runs: readonly JobRun[],
): Promise<Map<string, Usage>> {
  const ends = new Set(runs.flatMap((run) => (run.lastCheckpointId ? [run.lastCheckpointId] : [])))
  const usage = new Map<string, Usage>()
  for (const run of runs) {
    if (!run.resumedFrom || ends.has(run.resumedFrom)) continue
    const checkpoint = await store.readCheckpointState(jobId, run.resumedFrom).catch(() => undefined)
    if (checkpoint) usage.set(run.resumedFrom, checkpoint.usage)
  }
  return usage
}

export function buildRunTree(
  runs: readonly JobRun[],
  stats: ReadonlyMap<string, RunStats>,
  usageAtCheckpoint: ReadonlyMap<string, Usage> = new Map(),
): RunTreeNode[] {
  const ordered = [...runs].sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
  const byId = new Map(ordered.map((run) => [run.id, run]))
  const endedAt = new Map(
    ordered.flatMap((run) => (run.lastCheckpointId ? [[run.lastCheckpointId, run] as const] : [])),
  )
  const predecessor = (run: JobRun) => (run.resumedFrom ? endedAt.get(run.resumedFrom) : undefined)
  const resumedIds = new Set(ordered.flatMap((run) => (run.resumedFrom ? [run.resumedFrom] : [])))

  const childrenOf = new Map<string | undefined, JobRun[]>()
  for (const run of ordered) {
    const parent = run.parentRunId && byId.has(run.parentRunId) ? run.parentRunId : undefined
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), run])
  }

  const node = (run: JobRun): RunTreeNode => {
    const before =
      predecessor(run)?.usage ?? (run.resumedFrom ? usageAtCheckpoint.get(run.resumedFrom) : undefined)
    const runStats = stats.get(run.id)
    return {
      runId: run.id,
      expertKey: run.expertKey,
      status: run.status,
      mark: markOf(run, Boolean(run.lastCheckpointId && resumedIds.has(run.lastCheckpointId))),
      resumed: run.resumedFrom !== undefined,
      ...(run.attempt ? { attempt: run.attempt } : {}),
      ...(run.resumedFrom ? { resumedFrom: run.resumedFrom } : {}),
      ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
      ...(run.parentToolCallId ? { parentToolCallId: run.parentToolCallId } : {}),
      ...(runStats?.query !== undefined ? { query: runStats.query } : {}),
      steps: runStats?.steps ?? 0,
      events: runStats?.events ?? 0,
      usage: subtract(run.usage ?? emptyUsage(), before ?? emptyUsage()),
      ...(run.error ? { error: run.error } : {}),
      startedAt: run.startedAt,
      ...(run.finishedAt !== undefined ? { finishedAt: run.finishedAt } : {}),
      children: level(run.id),
    }
  }

  /** Siblings as conversations: each segment followed by the segments that resumed it, first starts first. */
  const level = (parentId: string | undefined): RunTreeNode[] => {
    const siblings = childrenOf.get(parentId) ?? []
    const inLevel = new Set(siblings)
    const successors = new Map<JobRun, JobRun[]>()
    const heads: JobRun[] = []
    for (const run of siblings) {
      const previous = predecessor(run)
      if (previous && inLevel.has(previous))
        successors.set(previous, [...(successors.get(previous) ?? []), run])
      else heads.push(run)
    }
    const out: RunTreeNode[] = []
    const seen = new Set<JobRun>()
    const visit = (run: JobRun) => {
      if (seen.has(run)) return
      seen.add(run)
      out.push(node(run))
      for (const next of successors.get(run) ?? []) visit(next)
    }
    for (const head of heads) visit(head)
    // Records that resume each other in a loop have no head; show them rather than lose them.
    for (const run of siblings) visit(run)
    return out
  }
  return level(undefined)
}

function markOf(run: JobRun, resumedLater: boolean): TreeMark {
  switch (run.status) {
    case "completed":
      return "completed"
    case "stoppedByError":
      return "failed"
    case "stoppedByDelegate":
      return resumedLater ? "delegated" : "waitingForDelegates"
    case "stoppedByInteractiveTool":
      return resumedLater ? "answered" : "waitingForUser"
    case "stoppedByExceededMaxSteps":
      return "outOfSteps"
    case "stoppedByCancel":
      return "stopped"
    default:
      return "running"
  }
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
