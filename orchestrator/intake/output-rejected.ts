// Turns a rejected line into the `outputRejected` event the orchestrator writes to the job's event log.
import type { EventOf } from "../../runtime/protocol/events/index.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import type { RejectedItem } from "./event-intake.ts"

export type OutputRejectedEvent = EventOf<"outputRejected">

/** The id and the clock are the caller's, so a test can fix them. */
export function outputRejectedEvent(
  item: RejectedItem,
  context: { jobId: string; runId: string; id: string; timestamp: number },
): OutputRejectedEvent {
  return {
    protocolVersion: PROTOCOL_VERSION,
    id: context.id,
    type: "outputRejected",
    timestamp: context.timestamp,
    jobId: context.jobId,
    runId: context.runId,
    reason: item.reason,
    sample: item.sample,
    byteLength: item.byteLength,
    ...(item.issues === undefined ? {} : { issues: item.issues }),
  }
}
