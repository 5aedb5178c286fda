// The API's view of a job: its API record, the job store's record, and whether this server is running or queueing it.
import type { ApiJob } from "../http-api/api-schema.ts"
import type { ApiJobRecord, JobRegistry } from "./job-registry.ts"
import type { JobScheduler } from "./job-scheduler.ts"

export async function jobView(
  record: ApiJobRecord,
  registry: JobRegistry,
  scheduler: JobScheduler,
): Promise<ApiJob> {
  const stored = await registry
    .store(record.id)
    .readJob(record.id)
    .catch(() => undefined)
  const running = scheduler.isRunning(record.id)
  const queuePosition = scheduler.position(record.id)
  const status: ApiJob["status"] =
    queuePosition !== undefined
      ? "queued"
      : running
        ? // job.json still holds the last run's status until the orchestrator rewrites it
          stored
          ? "proceeding"
          : "init"
        : stored
          ? stored.status
          : record.cancelledAt !== undefined
            ? "stoppedByCancel"
            : record.error
              ? "stoppedByError"
              : "queued"
  return {
    id: record.id,
    ...(record.applicationId ? { applicationId: record.applicationId } : {}),
    expertKey: record.expertKey,
    status,
    running,
    ...(queuePosition !== undefined ? { queuePosition } : {}),
    ...(record.provider ? { provider: record.provider } : {}),
    ...(record.model ? { model: record.model } : {}),
    createdAt: record.createdAt,
    ...(stored ? { record: stored } : {}),
    ...(record.error && !running && queuePosition === undefined ? { error: record.error } : {}),
  }
}
