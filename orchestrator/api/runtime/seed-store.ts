// A job store that holds only a caller's checkpoint: the job record, its run and the checkpoint, so that continuing
// the job (the orchestrator's own continue, with its delegation and answer handling) starts from that checkpoint.
import type { Checkpoint } from "../../../runtime/protocol/checkpoint.ts"
import type { SandboxBackend } from "../../../runtime/protocol/config/perstack-toml.ts"
import { toCheckpointRecord } from "../../../runtime/protocol/history-index.ts"
import { PROTOCOL_VERSION } from "../../../runtime/protocol/version.ts"
import type { JobStore } from "../../store/job-store.ts"

export async function seedJobStore(
  store: JobStore,
  checkpoint: Checkpoint,
  job: { coordinatorExpertKey: string; backend: SandboxBackend; now: number },
): Promise<void> {
  const { now, backend } = job
  // No `inputs`: nothing recorded what the job was first started with, so a continue has nothing to compare.
  await store.writeJob({
    protocolVersion: PROTOCOL_VERSION,
    id: checkpoint.jobId,
    status: checkpoint.status,
    coordinatorExpertKey: job.coordinatorExpertKey,
    backend,
    // Step numbers are job-wide: the coordinator's checkpoint is the job's latest step.
    totalSteps: checkpoint.stepNumber,
    usage: checkpoint.usage,
    startedAt: now,
    finishedAt: now,
  })
  await store.writeCheckpoint(toCheckpointRecord(checkpoint, { messageCount: 0 }))
  await store.writeRun({
    protocolVersion: PROTOCOL_VERSION,
    id: checkpoint.runId,
    jobId: checkpoint.jobId,
    expertKey: checkpoint.expert.key,
    status: checkpoint.status,
    sandbox: { backend },
    usage: checkpoint.usage,
    lastCheckpointId: checkpoint.id,
    ...(checkpoint.error ? { error: checkpoint.error } : {}),
    startedAt: now,
    finishedAt: now,
  })
}
