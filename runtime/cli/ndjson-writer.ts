// Writes events as NDJSON lines, waiting for the stream to drain (stdout may be a slow pipe).
import type { Writable } from "node:stream"
import type { PerstackEvent } from "../protocol/events/index.ts"

export function createNdjsonWriter(stream: Writable) {
  return (event: PerstackEvent): Promise<void> =>
    new Promise((resolve, reject) => {
      stream.write(`${JSON.stringify(event)}\n`, (error) => (error ? reject(error) : resolve()))
    })
}
