// Every event of the protocol, as one discriminated union on `type`.
import { z } from "zod"
import { orchestratorEventSchemas } from "./orchestrator.ts"
import { runtimeEventSchemas } from "./runtime.ts"
import { stateEventSchemas } from "./state.ts"
import { streamingEventSchemas } from "./streaming.ts"

/** What a sandbox may print: state, streaming and runtime events. */
export const sandboxEventSchema = z.discriminatedUnion("type", [
  ...stateEventSchemas,
  ...streamingEventSchemas,
  ...runtimeEventSchemas,
])
export type SandboxEvent = z.infer<typeof sandboxEventSchema>

/** Everything in a job's event log: the sandboxes' events plus the orchestrator's own. */
export const perstackEventSchema = z.discriminatedUnion("type", [
  ...stateEventSchemas,
  ...streamingEventSchemas,
  ...runtimeEventSchemas,
  ...orchestratorEventSchemas,
])
export type PerstackEvent = z.infer<typeof perstackEventSchema>
export type PerstackEventType = PerstackEvent["type"]
export type EventOf<T extends PerstackEventType> = Extract<PerstackEvent, { type: T }>

export { isTerminalEvent, TERMINAL_EVENT_TYPES, type TerminalEvent } from "./terminal.ts"
