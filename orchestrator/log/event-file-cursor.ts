// Reads one run's events.ndjson forward, line by line, framed on bytes: in memory, the chunk being consumed, the
// next one being read ahead, and at most one partial line.
import { type FileHandle, open } from "node:fs/promises"
import path from "node:path"
import { LineFramer } from "../ndjson/line-framer.ts"
import { LogLine } from "./log-line.ts"

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const CHUNK_BYTES = 128 * 1024
/** The intake caps a line at 32 MiB, so a stored line is never longer; a longer one is reported, not held. */
const MAX_LINE_BYTES = 48 * 1024 * 1024

/**
 * A pull reader: `take()` hands out the lines already framed without awaiting anything, and returns null
 * when it needs `fill()` to read the next chunk. Each chunk is a fresh buffer, so a line's bytes stay
 * valid after the cursor moves on (a line kept longer should still be detached, to free the chunk).
 */
export class EventFileCursor {
  readonly runId: string
  readonly #file: string
  /** how the file is named in messages: relative to the store */
  readonly #label: string
  readonly #framer = new LineFramer({ maxLineBytes: MAX_LINE_BYTES })
  readonly #signal: AbortSignal | undefined
  #handle: FileHandle | undefined
  #opened = false
  #ended = false
  #ahead: Promise<{ chunk: Buffer; bytesRead: number }> | undefined
  /** the framed lines not yet taken; a taken slot is cleared so the line can be collected once used */
  #pending: (LogLine | undefined)[] = []
  #next = 0
  readonly #startedAt: number

  constructor(options: {
    runId: string
    file: string
    storeRoot: string
    startedAt: number
    signal?: AbortSignal
  }) {
    this.runId = options.runId
    this.#file = options.file
    this.#label = path.relative(options.storeRoot, options.file)
    this.#startedAt = options.startedAt
    this.#signal = options.signal
  }

  /** The next line; null when a `fill()` is needed first; undefined at the end of the file. */
  take(): LogLine | null | undefined {
    if (this.#next < this.#pending.length) {
      const line = this.#pending[this.#next] as LogLine
      this.#pending[this.#next++] = undefined
      return line
    }
    return this.#ended ? undefined : null
  }

  /** Reads on until at least one line is framed, or the file ends. A missing file is an empty log. */
  async fill(): Promise<void> {
    this.#pending = []
    this.#next = 0
    if (!this.#opened) {
      this.#opened = true
      this.#handle = await open(this.#file, "r").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined
        throw error
      })
    }
    while (this.#pending.length === 0 && !this.#ended) {
      this.#signal?.throwIfAborted()
      const { chunk, bytesRead } = await (this.#ahead ?? this.#read())
      this.#ahead = undefined
      if (bytesRead === 0) {
        this.#ended = true
        this.#frame(this.#framer.end())
        await this.close()
      } else {
        // Read the next chunk while this one is framed and consumed.
        this.#ahead = this.#read()
        this.#frame(this.#framer.push(chunk.subarray(0, bytesRead)))
      }
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    await this.#ahead?.catch(() => undefined)
    this.#ahead = undefined
    await handle?.close()
  }

  #read(): Promise<{ chunk: Buffer; bytesRead: number }> {
    const handle = this.#handle
    if (!handle) return Promise.resolve({ chunk: Buffer.alloc(0), bytesRead: 0 })
    // A fresh buffer each time: lines handed out are views into it and must stay valid.
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
    const read = handle.read(chunk, 0, CHUNK_BYTES, null).then(({ bytesRead }) => ({ chunk, bytesRead }))
    // A read ahead nobody waits for (the reader stopped early) must not fail the process.
    read.catch(() => undefined)
    return read
  }

  #frame(lines: ReturnType<LineFramer["push"]>): void {
    for (const framed of lines) {
      const line = new LogLine({
        runId: this.runId,
        file: this.#label,
        // A view into this cursor's chunk or the framer's buffer for a long line; neither is reused.
        bytes: asBuffer(framed.bytes),
        lineNumber: framed.lineNumber,
        ...(framed.truncated ? { truncatedFrom: framed.byteLength } : {}),
        // A line without a readable timestamp sorts at its run's start; it still comes after its run's earlier lines.
        fallbackTimestamp: this.#startedAt,
      })
      this.#pending.push(line)
    }
  }
}
