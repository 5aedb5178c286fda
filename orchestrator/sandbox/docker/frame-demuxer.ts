// Splits Docker's multiplexed attach/exec stream (8-byte header per frame) into stdout bytes and stderr bytes.
// Unlike docker-modem's demuxStream it copies nothing, and pulls only as fast as stdout is read (backpressure).
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

const HEADER = 8
const STDOUT = 1
const STDERR = 2

/** Yields the stdout payloads as they arrive (frame boundaries are not line boundaries); stderr goes to `onStderr`. */
export async function* demuxFrames(
  source: AsyncIterable<Uint8Array>,
  onStderr: (chunk: Buffer) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const header = Buffer.alloc(HEADER)
  let headerFill = 0
  let stream = 0
  let remaining = 0
  for await (const input of source) {
    const chunk = Buffer.isBuffer(input)
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    let offset = 0
    while (offset < chunk.length) {
      if (remaining === 0) {
        const take = Math.min(HEADER - headerFill, chunk.length - offset)
        chunk.copy(header, headerFill, offset, offset + take)
        headerFill += take
        offset += take
        if (headerFill < HEADER) break
        headerFill = 0
        stream = header[0] ?? 0
        remaining = header.readUInt32BE(4)
        if (stream > STDERR || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
          throw new PerstackError(
            "docker.badStream",
            `the container's output is not a multiplexed Docker stream (frame header ${header.toString("hex")}); was it started with a TTY?`,
          )
        }
        continue
      }
      const take = Math.min(remaining, chunk.length - offset)
      const payload = chunk.subarray(offset, offset + take)
      offset += take
      remaining -= take
      if (stream === STDOUT) yield payload
      else if (stream === STDERR) onStderr(payload)
    }
  }
  // A stream cut mid-frame (a killed container) just ends: what arrived was passed on.
}
