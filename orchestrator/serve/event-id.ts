// SSE event ids: `<runId>:<byte offset just past the event's line in that run's events.ndjson>`.
// Runs are delivered whole, in start order (run.json's startedAt, then id), so the id alone says what was delivered:
// every run that sorts before this one, and this run's log up to the offset. A reconnect seeks straight there.
import { HttpError } from "./http-error.ts"

export interface EventPosition {
  runId: string
  offset: number
}

const EVENT_ID = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,127}):(\d{1,15})$/

export const formatEventId = (position: EventPosition) => `${position.runId}:${position.offset}`

/** Parses a Last-Event-ID; an empty one means "from the start". */
export function parseEventId(value: string | undefined): EventPosition | undefined {
  if (value === undefined || value.trim() === "") return undefined
  const match = EVENT_ID.exec(value.trim())
  if (!match) {
    throw new HttpError(
      400,
      "lastEventId.invalid",
      `Last-Event-ID "${value.slice(0, 100)}" is not an event id of this API (<runId>:<offset>)`,
      { field: "Last-Event-ID" },
    )
  }
  return { runId: match[1] as string, offset: Number(match[2]) }
}
