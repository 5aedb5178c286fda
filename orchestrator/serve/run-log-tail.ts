// Follows one run's events.ndjson from a byte offset, handing out complete lines with the offset just past each.
// Unlike the log readers (which read a finished log once), it can be asked again after the file grew.
import { type FileHandle, open } from "node:fs/promises"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { LineFramer } from "../ndjson/line-framer.ts"

const CHUNK_BYTES = 128 * 1024
/** The intake caps a line at 32 MiB; a stored line is never longer. */
const MAX_LINE_BYTES = 48 * 1024 * 1024
const NEWLINE = 0x0a

export interface TailLine {
  /** the line without its newline (and a trailing `\r`); empty lines are skipped */
  bytes: Buffer
  /** the byte offset just past the line's newline: where the next line starts */
  end: number
}

export interface RunLogTailOptions {
  file: string
  /** where to start: 0, or just past a line's newline */
  offset: number
  /** a longer line means a corrupt store (default 48 MiB) */
  maxLineBytes?: number
}

export class RunLogTail {
  readonly #file: string
  #handle: FileHandle | undefined
  /** where the framer's stream starts in the file: its line ends are counted from here */
  readonly #offset: number
  /** the next byte to read */
  #position: number
  /** holds the partial line after the last complete one; never asked to end it, as the file may still grow */
  readonly #framer: LineFramer
  readonly #maxLineBytes: number
  /** a line over the cap, met after lines still to be handed out: reported on the next read */
  #corrupt: PerstackError | undefined

  constructor(options: RunLogTailOptions) {
    this.#file = options.file
    this.#offset = options.offset
    this.#position = options.offset
    this.#maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES
    this.#framer = new LineFramer({ maxLineBytes: this.#maxLineBytes })
  }

  /** The complete lines written since the last call, from one chunk (fewer than asked when the file has no more yet). */
  async read(): Promise<TailLine[]> {
    this.#handle ??= await open(this.#file, "r").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined
      throw error
    })
    if (!this.#handle) return []
    const lines: TailLine[] = []
    while (lines.length === 0) {
      if (this.#corrupt) throw this.#corrupt
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
      const { bytesRead } = await this.#handle.read(chunk, 0, CHUNK_BYTES, this.#position)
      if (bytesRead === 0) break
      this.#position += bytesRead
      this.#frame(chunk.subarray(0, bytesRead), lines)
    }
    return lines
  }

  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    await handle?.close()
  }

  #frame(chunk: Buffer, lines: TailLine[]): void {
    // Each chunk is a fresh buffer, so the framer's views into it stay valid after the next read.
    for (const line of this.#framer.push(chunk)) {
      if (line.truncated) {
        this.#corrupt = new PerstackError(
          "store.corrupt",
          `${this.#file}: a line over ${this.#maxLineBytes} bytes`,
        )
        return
      }
      lines.push({ bytes: asBuffer(line.bytes), end: this.#offset + line.end })
    }
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Whether `offset` is a line boundary of the file (0, or just past a newline): a Last-Event-ID must point at one. */
export async function isLineBoundary(file: string, offset: number): Promise<boolean> {
  if (offset === 0) return true
  const handle = await open(file, "r").catch(() => undefined)
  if (!handle) return false
  try {
    const byte = Buffer.alloc(1)
    const { bytesRead } = await handle.read(byte, 0, 1, offset - 1)
    return bytesRead === 1 && byte[0] === NEWLINE
  } finally {
    await handle.close()
  }
}
