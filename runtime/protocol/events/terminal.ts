// Which events end a run segment. Kept free of schemas so the runtime can use it without loading them.
import type { PerstackEvent } from "./index.ts"

/** The events that end a run segment; each carries the final checkpoint. */
export const TERMINAL_EVENT_TYPES = [
  "completeRun",
  "stopRunByInteractiveTool",
  "stopRunByDelegate",
  "stopRunByExceededMaxSteps",
  "stopRunByError",
] as const satisfies readonly PerstackEvent["type"][]
export type TerminalEvent = Extract<PerstackEvent, { type: (typeof TERMINAL_EVENT_TYPES)[number] }>

const terminal: ReadonlySet<string> = new Set(TERMINAL_EVENT_TYPES)
export function isTerminalEvent(event: PerstackEvent): event is TerminalEvent {
  return terminal.has(event.type)
}
