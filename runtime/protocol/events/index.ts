// Every event of the protocol, as one discriminated union on `type`.
import { z } from "zod"
import {
  completeRunV1Schema,
  continueToNextStepV1Schema,
  startGenerationV1Schema,
  startRunV1Schema,
  stopRunByDelegateV1Schema,
  stopRunByErrorV1Schema,
  stopRunByExceededMaxStepsV1Schema,
  stopRunByInteractiveToolV1Schema,
} from "../v1/events.ts"
import { orchestratorEventSchemas } from "./orchestrator.ts"
import { runtimeEventSchemas } from "./runtime.ts"
import {
  attemptCompletionEventSchema,
  callDelegateEventSchema,
  callInteractiveToolEventSchema,
  callToolsEventSchema,
  completeRunEventSchema,
  continueToNextStepEventSchema,
  finishAllToolCallsEventSchema,
  finishToolCallEventSchema,
  resolveToolResultsEventSchema,
  resumeToolCallsEventSchema,
  retryEventSchema,
  startGenerationEventSchema,
  startRunEventSchema,
  stateEventSchemas,
  stopRunByDelegateEventSchema,
  stopRunByErrorEventSchema,
  stopRunByExceededMaxStepsEventSchema,
  stopRunByInteractiveToolEventSchema,
} from "./state.ts"
import { streamingEventSchemas } from "./streaming.ts"

/** What a sandbox may print: state, streaming and runtime events, of the current protocol. */
export const sandboxEventSchema = z.discriminatedUnion("type", [
  ...stateEventSchemas,
  ...streamingEventSchemas,
  ...runtimeEventSchemas,
])
export type SandboxEvent = z.infer<typeof sandboxEventSchema>

/**
 * Everything in a job's event log: the sandboxes' events plus the orchestrator's own. Reads stores written by
 * protocol 1 as well (for the event types protocol 2 changed, by protocolVersion); what it gives is always
 * protocol 2's shape.
 */
export const perstackEventSchema = z.discriminatedUnion("type", [
  z.discriminatedUnion("protocolVersion", [startRunEventSchema, startRunV1Schema]),
  z.discriminatedUnion("protocolVersion", [startGenerationEventSchema, startGenerationV1Schema]),
  retryEventSchema,
  callToolsEventSchema,
  callInteractiveToolEventSchema,
  callDelegateEventSchema,
  resolveToolResultsEventSchema,
  attemptCompletionEventSchema,
  finishToolCallEventSchema,
  resumeToolCallsEventSchema,
  finishAllToolCallsEventSchema,
  z.discriminatedUnion("protocolVersion", [continueToNextStepEventSchema, continueToNextStepV1Schema]),
  z.discriminatedUnion("protocolVersion", [
    stopRunByInteractiveToolEventSchema,
    stopRunByInteractiveToolV1Schema,
  ]),
  z.discriminatedUnion("protocolVersion", [stopRunByDelegateEventSchema, stopRunByDelegateV1Schema]),
  z.discriminatedUnion("protocolVersion", [
    stopRunByExceededMaxStepsEventSchema,
    stopRunByExceededMaxStepsV1Schema,
  ]),
  z.discriminatedUnion("protocolVersion", [stopRunByErrorEventSchema, stopRunByErrorV1Schema]),
  z.discriminatedUnion("protocolVersion", [completeRunEventSchema, completeRunV1Schema]),
  ...streamingEventSchemas,
  ...runtimeEventSchemas,
  ...orchestratorEventSchemas,
])
export type PerstackEvent = z.infer<typeof perstackEventSchema>
export type PerstackEventType = PerstackEvent["type"]
export type EventOf<T extends PerstackEventType> = Extract<PerstackEvent, { type: T }>

/** Each event type's reader (the same check as the whole union, done once per line by who dispatches on `type`). */
export const eventSchemaByType: ReadonlyMap<string, z.ZodType<PerstackEvent>> = new Map(
  perstackEventSchema.options.map((option) => {
    const first = "shape" in option ? option : option.options[0]
    return [(first as { shape: { type: z.ZodLiteral<string> } }).shape.type.value, option]
  }),
)

export { isTerminalEvent, TERMINAL_EVENT_TYPES, type TerminalEvent } from "./terminal.ts"
