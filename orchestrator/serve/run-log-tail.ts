// Follows one run's events.ndjson from a byte offset, handing out complete lines with the offset just past each.
// Unlike the log readers (which read a finished log once), it can be asked again after the file grew.
import { type FileHandle, open } from "node:fs/promises"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

const CHUNK_BYTES = 128 * 1024
/** The intake caps a line at 32 MiB; a stored line is never longer. */
const MAX_LINE_BYTES = 48 * 1024 * 1024
const NEWLINE = 0x0a

export interface TailLine {
  /** the line without its newline */
  bytes: Buffer
  /** the byte offset just past the line's newline: where the next line starts */
  end: number
}

export class RunLogTail {
  readonly #file: string
  #handle: FileHandle | undefined
  /** the next byte to read */
  #position: number
  /** bytes read after the last complete line */
  #partial: Buffer[] = []
  #partialBytes = 0

  constructor(options: { file: string; offset: number }) {
    this.#file = options.file
    this.#position = options.offset
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
    const chunkStart = this.#position - chunk.length
    let start = 0
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start)
      if (newline < 0) break
      const piece = chunk.subarray(start, newline)
      const bytes = this.#partialBytes > 0 ? Buffer.concat([...this.#partial, piece]) : piece
      this.#partial = []
      this.#partialBytes = 0
      lines.push({ bytes, end: chunkStart + newline + 1 })
      start = newline + 1
    }
    if (start < chunk.length) {
      this.#partial.push(chunk.subarray(start))
      this.#partialBytes += chunk.length - start
      if (this.#partialBytes > MAX_LINE_BYTES) {
        throw new PerstackError("store.corrupt", `${this.#file}: a line over ${MAX_LINE_BYTES} bytes`)
      }
    }
  }
}

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
