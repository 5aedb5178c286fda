// Writes events as NDJSON lines, waiting for the stream to drain (stdout may be a slow pipe).
import type { Writable } from "node:stream"
import { PerstackError } from "../errors/perstack-error.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { formatBytes, MAX_EVENT_LINE_BYTES } from "../protocol/limits.ts"

const NON_ASCII = /[\u007f-\uffff]/g

/**
 * JSON with every non-ASCII character as a \u escape: the same value, in bytes that survive being cut anywhere.
 * A Kubernetes node's log pipeline cuts long lines into 16 KiB pieces and re-encodes each as UTF-8 on its own, so a
 * character cut in two would come back as U+FFFD.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    NON_ASCII,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  )
}

/**
 * A line the orchestrator would refuse is never printed: the writer rejects it instead (a runtime waiting for the
 * acknowledgement of a line nobody took in would wait forever). The loop's caps keep every line well under it.
 */
export function createNdjsonWriter(
  stream: Writable,
  options: { ascii?: boolean; maxLineBytes?: number } = {},
) {
  const encode = options.ascii ? asciiJson : JSON.stringify
  const max = options.maxLineBytes ?? MAX_EVENT_LINE_BYTES
  return (event: PerstackEvent): Promise<void> => {
    const line = `${encode(event)}\n`
    // A string's length is at most its UTF-8 size, and at least a third of it: most lines need no count.
    if (line.length * 3 > max && Buffer.byteLength(line) > max) {
      const size = Buffer.byteLength(line)
      return Promise.reject(
        new PerstackError(
          "run.eventTooLarge",
          `the ${event.type} event is ${formatBytes(size)}, over the ${formatBytes(max)} an event line may carry; not printed`,
        ),
      )
    }
    return new Promise((resolve, reject) => {
      stream.write(line, (error) => (error ? reject(error) : resolve()))
    })
  }
}
