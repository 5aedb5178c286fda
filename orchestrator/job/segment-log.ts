// A segment's side of its run's event log: every event stored, then heard by the job's listener, in that order.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import type { RejectedItem } from "../intake/event-intake.ts"
import { outputRejectedEvent } from "../intake/output-rejected.ts"
import type { JobContext } from "./job-context.ts"
import type { RunGuard } from "./run-guard.ts"

export interface SegmentLog {
  /** An event the orchestrator made (it passes the guard first), or with `text`, a sandbox's line as it printed it. */
  record(made: PerstackEvent, text?: string): Promise<void>
  /** An event of the orchestrator's own about the run (sandboxStarted, sandboxExited). */
  recordOwn(type: string, payload: object): Promise<void>
  /** The outputRejected record of a line the intake refused. */
  recordRejected(item: RejectedItem): Promise<void>
  /** Puts what is stored in the OS, so it survives this process dying. */
  flush(): Promise<void>
  close(): Promise<void>
}

export function openSegmentLog(job: JobContext, spec: RunSpec, guard: RunGuard): SegmentLog {
  const { store, clock, ids } = job.options
  const log = store.eventLog(spec.jobId, spec.runId)
  const stamp = () => ({ jobId: spec.jobId, runId: spec.runId, id: ids(), timestamp: clock() })
  // Awaits only when the log or the listener asks to (backpressure): a sandbox may print a million events.
  const record = async (made: PerstackEvent, text?: string) => {
    const event = text === undefined ? guard.event(made) : made
    const stored = text === undefined ? log.append(event) : log.appendLine(text)
    if (stored) await stored
    const emitted = job.emit(event, text)
    if (emitted) await emitted
  }
  return {
    record,
    recordOwn: (type, payload) =>
      record({ protocolVersion: PROTOCOL_VERSION, ...stamp(), type, ...payload } as unknown as PerstackEvent),
    recordRejected: (item) => record(outputRejectedEvent(item, stamp())),
    flush: () => log.flush(),
    close: () => log.close(),
  }
}
