// Finds and reads what `perstack log` shows: the job, its runs and a checkpoint, with fallbacks when records are
// missing (a crashed orchestrator, an old store): runs rebuilt from the event logs, the job from its runs.
import { readdir, stat } from "node:fs/promises"
import type { Job } from "../../runtime/protocol/job.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { addUsage, emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import type { JobRun } from "../job-tree/job-run.ts"
import { rebuildJobRuns } from "../job-tree/rebuild-from-events.ts"
import type { JobStore } from "../store/job-store.ts"
import { assertSafeId } from "../store/store-paths.ts"

export interface LoadedJob {
  job: Job
  /** job.json was missing: the job was put together from its runs and checkpoints */
  synthesized: boolean
  /** in start order */
  runs: JobRun[]
}

const listDir = (dir: string): Promise<string[]> => readdir(dir).catch(() => [] as string[])
/** Ids become path segments: the store's own rule, as a test instead of a throw. */
export function isSafeId(id: string): boolean {
  try {
    assertSafeId("id", id)
    return true
  } catch {
    return false
  }
}

/** Job ids in the store, newest first (by job.json's start, else by the folder's time). */
export async function jobIdsNewestFirst(store: JobStore): Promise<string[]> {
  const ids = (await listDir(store.paths.jobs)).filter(isSafeId)
  const dated = await Promise.all(
    ids.map(async (id) => {
      const job = await store.readJob(id).catch(() => undefined)
      if (job) return { id, at: job.startedAt }
      const info = await stat(store.paths.job(id)).catch(() => undefined)
      return info?.isDirectory() ? { id, at: info.mtimeMs } : undefined
    }),
  )
  return dated
    .filter((entry) => entry !== undefined)
    .sort((a, b) => b.at - a.at || b.id.localeCompare(a.id))
    .map((entry) => entry.id)
}

/** The job, or undefined when the store has no such job (nor any trace of it). */
export async function loadJob(store: JobStore, jobId: string): Promise<LoadedJob | undefined> {
  const [record, runs] = await Promise.all([store.readJob(jobId), loadRuns(store, jobId)])
  if (record) return { job: record, synthesized: false, runs }
  const checkpointFiles = (await listDir(store.paths.checkpoints(jobId))).filter((file) =>
    file.endsWith(".json"),
  )
  if (runs.length === 0 && checkpointFiles.length === 0) return undefined
  return { job: await synthesizeJob(store, jobId, runs, checkpointFiles.length), synthesized: true, runs }
}

/** Every run of the job: run.json where it is readable, the rest rebuilt from the event logs. */
async function loadRuns(store: JobStore, jobId: string): Promise<JobRun[]> {
  const ids = (await listDir(store.paths.runs(jobId))).filter(isSafeId)
  const records = await Promise.all(ids.map((id) => store.readRun(jobId, id).catch(() => undefined)))
  const runs: JobRun[] = records
    .filter((run): run is Run => run !== undefined)
    .map(({ protocolVersion: _, jobId: __, ...run }) => ({ ...run, source: "run.json" }))
  const known = new Set(runs.map((run) => run.id))
  const missing = ids.filter((id) => !known.has(id))
  if (missing.length > 0) runs.push(...(await rebuildJobRuns(store, jobId, missing)))
  return runs.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
}

/** As the original did without job.json: the coordinator from the first run, the status from the last. */
async function synthesizeJob(
  store: JobStore,
  jobId: string,
  runs: JobRun[],
  checkpoints: number,
): Promise<Job> {
  const roots = runs.filter((run) => !run.parentRunId)
  const running = runs.some((run) => run.status === "proceeding" || run.status === "init")
  const status = running ? "proceeding" : (roots.at(-1)?.status ?? "proceeding")
  // run.json usage is cumulative per conversation: a conversation's total is its last segment's.
  const resumed = new Set(runs.flatMap((run) => (run.resumedFrom ? [run.resumedFrom] : [])))
  const usage = runs
    .filter((run) => !run.lastCheckpointId || !resumed.has(run.lastCheckpointId))
    .reduce((sum, run) => addUsage(sum, run.usage ?? emptyUsage()), emptyUsage())
  const folder = await stat(store.paths.job(jobId)).catch(() => undefined)
  const finishedAt = Math.max(...runs.map((run) => run.finishedAt ?? 0))
  return {
    protocolVersion: PROTOCOL_VERSION,
    id: jobId,
    status,
    coordinatorExpertKey: roots[0]?.expertKey ?? runs[0]?.expertKey ?? "(unknown)",
    backend: runs.find((run) => run.sandbox)?.sandbox?.backend ?? "local",
    totalSteps: checkpoints,
    usage,
    startedAt: runs[0]?.startedAt ?? folder?.mtimeMs ?? 0,
    ...(status === "completed" && finishedAt > 0 ? { finishedAt } : {}),
  }
}

/** The job holding run `runId` (or checkpoint `checkpointId`), searching the newest jobs first. */
export async function findJobHolding(
  store: JobStore,
  what: { runId: string } | { checkpointId: string },
): Promise<string | undefined> {
  for (const jobId of await jobIdsNewestFirst(store)) {
    const file =
      "runId" in what
        ? store.paths.run(jobId, what.runId)
        : store.paths.checkpointFile(jobId, what.checkpointId)
    if (await stat(file).catch(() => undefined)) return jobId
  }
  return undefined
}
