// The delegation tree of a job: the coordinator's conversation at the root, each run segment under the segment
// that delegated to it, a conversation's segments one after the other ("resumed"), siblings in start order.
import type { RunError } from "../../runtime/protocol/checkpoint.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import { emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { JobRun } from "./job-run.ts"
import { markOfStatus, type RunMark } from "./run-marks.ts"
import { segmentUsage } from "./segment-usage.ts"

/** What the tree shows of a run that its record does not hold, read from its event log. */
export interface RunStats {
  events: number
  /** finished steps: each wrote a checkpoint (continueToNextStep, or the terminal event) */
  steps: number
  /** from initializeRuntime: a fresh query or follow-up; absent for a resume */
  query?: string
}

export interface RunTreeNode {
  runId: string
  expertKey: string
  status: Status
  /** how the line is marked: what the segment's status means once its successors are known */
  mark: RunMark
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

/**
 * Folds the run records into the tree. `usageAtCheckpoint` holds the usage at checkpoints segments resumed from
 * that ended no other segment (--resume-from an earlier step), so those segments count only their own tokens.
 */
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
    const resumedLater = Boolean(run.lastCheckpointId && resumedIds.has(run.lastCheckpointId))
    return {
      runId: run.id,
      expertKey: run.expertKey,
      status: run.status,
      mark: markOfStatus(run.status, resumedLater),
      resumed: run.resumedFrom !== undefined,
      ...(run.attempt ? { attempt: run.attempt } : {}),
      ...(run.resumedFrom ? { resumedFrom: run.resumedFrom } : {}),
      ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
      ...(run.parentToolCallId ? { parentToolCallId: run.parentToolCallId } : {}),
      ...(runStats?.query !== undefined ? { query: runStats.query } : {}),
      steps: runStats?.steps ?? 0,
      events: runStats?.events ?? 0,
      usage: segmentUsage(run.usage ?? emptyUsage(), before ?? emptyUsage()),
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

/** The checkpoints whose usage buildRunTree needs from the store: where segments resumed that no segment ended. */
export function resumePointsWithoutRun(runs: readonly JobRun[]): string[] {
  const ends = new Set(runs.flatMap((run) => (run.lastCheckpointId ? [run.lastCheckpointId] : [])))
  return runs.flatMap((run) => (run.resumedFrom && !ends.has(run.resumedFrom) ? [run.resumedFrom] : []))
}
