// The store reads behind the delegation tree: each run's stats (one streaming pass per log) and the usage at
// checkpoints segments resumed from; the tree itself is folded in job-tree/.
import type { Usage } from "../../runtime/protocol/usage.ts"
import type { JobRun } from "../job-tree/job-run.ts"
import { buildRunTree, type RunTreeNode, resumePointsWithoutRun } from "../job-tree/run-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { scanRunStats } from "./run-stats.ts"

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

/** The usage at checkpoints segments resumed from that ended no other segment (--resume-from an earlier step). */
export async function resumeStartUsage(
  store: JobStore,
  jobId: string,
  runs: readonly JobRun[],
): Promise<Map<string, Usage>> {
  const usage = new Map<string, Usage>()
  for (const checkpointId of resumePointsWithoutRun(runs)) {
    if (usage.has(checkpointId)) continue
    const checkpoint = await store.readCheckpointState(jobId, checkpointId).catch(() => undefined)
    if (checkpoint) usage.set(checkpointId, checkpoint.usage)
  }
  return usage
}
