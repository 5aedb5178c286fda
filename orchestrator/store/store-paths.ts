// Where a job lives on disk: `<workspace>/perstack/jobs/<jobId>/...` (DESIGN.md, "The job store").
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/

/** Ids become path segments: refuse anything that could climb out of the store. */
export function assertSafeId(kind: string, id: string): string {
  if (!SAFE_ID.test(id) || id.includes("..")) {
    throw new PerstackError(
      "store.invalidId",
      `invalid ${kind} id "${id}": letters, digits, ".", "_" and "-" only`,
    )
  }
  return id
}

export function storePaths(root: string) {
  const jobs = path.join(root, "jobs")
  const job = (jobId: string) => path.join(jobs, assertSafeId("job", jobId))
  const run = (jobId: string, runId: string) => path.join(job(jobId), "runs", assertSafeId("run", runId))
  return {
    root,
    jobs,
    job,
    jobFile: (jobId: string) => path.join(job(jobId), "job.json"),
    lockFile: (jobId: string) => path.join(job(jobId), "job.lock"),
    runs: (jobId: string) => path.join(job(jobId), "runs"),
    run,
    runFile: (jobId: string, runId: string) => path.join(run(jobId, runId), "run.json"),
    eventsFile: (jobId: string, runId: string) => path.join(run(jobId, runId), "events.ndjson"),
    checkpoints: (jobId: string) => path.join(job(jobId), "checkpoints"),
    checkpointFile: (jobId: string, checkpointId: string) =>
      path.join(job(jobId), "checkpoints", `${assertSafeId("checkpoint", checkpointId)}.json`),
  }
}
