// Stamps events with the envelope: protocol version, id, time, job, run, Expert and step.
import type { Clock, IdGenerator } from "../ids.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { PROTOCOL_VERSION } from "../protocol/version.ts"

type RuntimeEventTypes =
  | "initializeRuntime"
  | "skillStarting"
  | "skillConnected"
  | "skillStderr"
  | "skillDisconnected"
  | "dockerBuildProgress"
  | "dockerContainerStatus"
  | "proxyAccess"
type Envelope =
  | "protocolVersion"
  | "id"
  | "timestamp"
  | "jobId"
  | "runId"
  | "expertKey"
  | "stepNumber"
  | "type"
type RunEvent = Exclude<
  PerstackEvent,
  { type: RuntimeEventTypes | "sandboxStarted" | "sandboxExited" | "outputRejected" }
>
type RuntimeEvent = Extract<PerstackEvent, { type: RuntimeEventTypes }>

export type RunEventPayload<T extends RunEvent["type"]> = Omit<Extract<RunEvent, { type: T }>, Envelope>
export type RuntimeEventPayload<T extends RuntimeEvent["type"]> = Omit<
  Extract<RuntimeEvent, { type: T }>,
  Envelope
>

export function createEventFactory(options: {
  jobId: string
  runId: string
  expertKey: string
  ids: IdGenerator
  clock: Clock
  /** the step the run is on when the event is made */
  stepNumber: () => number
}) {
  const base = () => ({
    protocolVersion: PROTOCOL_VERSION,
    id: options.ids(),
    timestamp: options.clock(),
    jobId: options.jobId,
    runId: options.runId,
  })
  return {
    run<T extends RunEvent["type"]>(type: T, payload: RunEventPayload<T>): Extract<RunEvent, { type: T }> {
      return {
        ...base(),
        type,
        expertKey: options.expertKey,
        stepNumber: options.stepNumber(),
        ...payload,
      } as unknown as Extract<RunEvent, { type: T }>
    },
    runtime<T extends RuntimeEvent["type"]>(
      type: T,
      payload: RuntimeEventPayload<T>,
    ): Extract<RuntimeEvent, { type: T }> {
      return { ...base(), type, ...payload } as unknown as Extract<RuntimeEvent, { type: T }>
    },
  }
}
export type EventFactory = ReturnType<typeof createEventFactory>
