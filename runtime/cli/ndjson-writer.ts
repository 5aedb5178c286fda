// Writes events as NDJSON lines, waiting for the stream to drain (stdout may be a slow pipe).
import type { Writable } from "node:stream"
import type { PerstackEvent } from "../protocol/events/index.ts"

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

export function createNdjsonWriter(stream: Writable, options: { ascii?: boolean } = {}) {
  const encode = options.ascii ? asciiJson : JSON.stringify
  return (event: PerstackEvent): Promise<void> =>
    new Promise((resolve, reject) => {
      stream.write(`${encode(event)}\n`, (error) => (error ? reject(error) : resolve()))
    })
}
