// After the orchestrator died: every run still marked in flight is closed from its own event log, its sandbox
// reaped by label, and its last state recorded, so the job can be continued like one whose sandboxes crashed.
import type { RunError, WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import { isTerminalEvent, type TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { trimTornTail } from "../store/torn-tail.ts"
import type { JobContext } from "./job-context.ts"
import { RecoveryTracker } from "./recovery.ts"

const LOST: WrittenRunError = {
  name: "OrchestratorLost",
  code: "orchestrator.lost",
  message: "the orchestrator stopped while this run was in flight",
  isRetryable: true,
}

/**
 * Finalizes the job's in-flight runs; returns how many it found. `error` says why they stopped: by default the
 * orchestrator was lost; the job's own failure (a full disk) when it closes its runs before it ends.
 */
export async function finalizeInFlightRuns(job: JobContext, error: RunError = LOST): Promise<number> {
  const { store, backend, ids, clock } = job.options
  const inFlight = (await store.listRuns(job.job.id)).filter((run) => run.finishedAt === undefined)
  for (const run of inFlight) {
    await backend.reap?.({ jobId: run.jobId, runId: run.id })
    // A line cut off by the crash (or by the full disk) goes first, whether or not a terminal event follows it.
    await trimTornTail(store.paths.eventsFile(job.job.id, run.id))
    const tracker = new RecoveryTracker()
    let terminal: TerminalEvent | undefined
    let lastStep = 0
    for await (const event of store.readEvents(job.job.id, run.id)) {
      // The events are the source of truth: a checkpoint they name is restored if its file never got written.
      if (event.type === "continueToNextStep" || isTerminalEvent(event)) {
        if (!(await store.readCheckpointFile(job.job.id, event.checkpoint.id)))
          await store.writeCheckpoint(event.checkpoint)
      }
      if (isTerminalEvent(event)) terminal = event
      else tracker.observe(event)
      if ("stepNumber" in event) lastStep = event.stepNumber
    }
    if (!terminal) {
      const base = tracker.lastCheckpoint
      if (!base) {
        // It never got as far as a checkpoint: nothing to resume; the conversation starts this segment again.
        await store.writeRun(closed(run, { status: "stoppedByError", error, finishedAt: clock() }))
        continue
      }
      const checkpoint = { ...base, id: ids(), status: "stoppedByError" as const, error }
      const now = clock()
      terminal = {
        protocolVersion: PROTOCOL_VERSION,
        id: ids(),
        type: "stopRunByError",
        timestamp: now,
        jobId: run.jobId,
        runId: run.id,
        expertKey: run.expertKey,
        stepNumber: Math.max(lastStep, checkpoint.stepNumber),
        checkpoint,
        step: { stepNumber: checkpoint.stepNumber, newMessages: [], usage: emptyUsage(), startedAt: now },
        error,
      }
      const log = store.eventLog(job.job.id, run.id)
      await log.append(terminal)
      await log.close()
    }
    await store.writeCheckpoint(terminal.checkpoint)
    await store.writeRun(
      closed(run, {
        status: terminal.checkpoint.status,
        usage: terminal.checkpoint.usage,
        lastCheckpointId: terminal.checkpoint.id,
        ...(terminal.type === "stopRunByError" ? { error: terminal.error } : {}),
        finishedAt: clock(),
      }),
    )
  }
  return inFlight.length
}

function closed(run: Run, changes: Partial<Run>): Run {
  return { ...run, ...changes, protocolVersion: PROTOCOL_VERSION }
}
