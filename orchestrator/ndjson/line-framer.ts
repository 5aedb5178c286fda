// Byte-level NDJSON framing: splits a byte stream into lines without decoding it, with a cap on a line's size.
// Framing on bytes (not on decoded text) is what keeps a multibyte character that straddles two chunks intact.
import { MAX_EVENT_LINE_BYTES } from "../../runtime/protocol/limits.ts"

export interface FramedLine {
  /**
   * The line without its `\n` and a trailing `\r`; for a truncated line, only its first `sampleBytes`.
   * May be a view into the source's chunk: valid until the next line is asked for; copy it to keep it.
   */
  bytes: Uint8Array
  /** the whole line's size in bytes, even when truncated */
  byteLength: number
  /** longer than the cap: the rest was discarded while streaming, never buffered */
  truncated: boolean
  /** 1-based, counting every `\n` of the stream, empty lines included */
  lineNumber: number
  /** bytes of the stream up to and including the line's `\n` (its length, for a final line without one): where the next line starts */
  end: number
}

export interface FrameOptions {
  /** a longer line is cut to its sample and reported as truncated (default 32 MiB) */
  maxLineBytes?: number
  /** how much of a truncated line is kept (default 512) */
  sampleBytes?: number
}

export const DEFAULT_MAX_LINE_BYTES = MAX_EVENT_LINE_BYTES
export const DEFAULT_SAMPLE_BYTES = 512

const LF = 0x0a
const EMPTY = Buffer.alloc(0)
const FIRST_BLOCK_BYTES = 1024
const BLOCK_BYTES = 64 * 1024
const CR = 0x0d

const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

/**
 * The synchronous core of the framing: feed it chunks, get back the lines each one completed.
 * Holds at most one partial line between chunks, never more than the cap plus one block of it.
 */
export class LineFramer {
  readonly #maxLineBytes: number
  readonly #sampleBytes: number
  /**
   * The current line's bytes from earlier chunks, copied (the source may reuse its buffers) into
   * blocks of at least 64 KiB so that a line arriving in tiny chunks is not a million tiny buffers;
   * joined once, when its newline comes.
   */
  #blocks: Buffer[] = []
  #open = EMPTY
  #openLength = 0
  /** bytes of the current line seen so far, discarded ones included */
  #lineBytes = 0
  /** set once the current line went over the cap: its first bytes; the rest is being skipped */
  #sample: Buffer | undefined
  #lastByte = -1
  #lineNumber = 0
  /** bytes of the stream pushed before the current chunk */
  #streamBytes = 0

  constructor(options: FrameOptions = {}) {
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    this.#sampleBytes = Math.min(options.sampleBytes ?? DEFAULT_SAMPLE_BYTES, this.#maxLineBytes)
    if (!(this.#maxLineBytes > 0) || !(this.#sampleBytes >= 0)) {
      throw new RangeError("maxLineBytes must be positive and sampleBytes not negative")
    }
  }

  /** Frames one chunk. The lines returned may be views into `chunk`. */
  push(chunk: Uint8Array): FramedLine[] {
    const buffer = asBuffer(chunk)
    const lines: FramedLine[] = []
    let start = 0
    for (;;) {
      const end = buffer.indexOf(LF, start)
      if (end === -1) break
      this.#complete(buffer.subarray(start, end), this.#streamBytes + end + 1, lines)
      start = end + 1
    }
    if (start < buffer.length) this.#hold(buffer.subarray(start))
    this.#streamBytes += buffer.length
    return lines
  }

  /** The final line, when the stream ended without a newline after it. */
  end(): FramedLine[] {
    const lines: FramedLine[] = []
    if (this.#lineBytes > 0) this.#complete(EMPTY, this.#streamBytes, lines)
    return lines
  }

  #hold(piece: Buffer): void {
    this.#lineBytes += piece.length
    this.#lastByte = piece[piece.length - 1] ?? this.#lastByte
    if (this.#sample) return
    // +1: a trailing `\r` is not part of the line, so a line of exactly the cap may hold one more byte.
    if (this.#lineBytes > this.#maxLineBytes + 1) {
      this.#sample = this.#firstBytes(piece)
      this.#blocks = []
      this.#open = EMPTY
      this.#openLength = 0
      return
    }
    let rest = piece
    while (rest.length > 0) {
      if (this.#openLength === this.#open.length) {
        if (this.#openLength > 0) this.#blocks.push(this.#open)
        // Small first: most held lines are a short line's head waiting for the next chunk.
        const size = this.#open === EMPTY ? FIRST_BLOCK_BYTES : BLOCK_BYTES
        this.#open = Buffer.allocUnsafe(Math.max(size, rest.length))
        this.#openLength = 0
      }
      const copied = rest.copy(this.#open, this.#openLength)
      this.#openLength += copied
      rest = rest.subarray(copied)
    }
  }

  #complete(piece: Buffer, end: number, lines: FramedLine[]): void {
    this.#lineNumber++
    const lineNumber = this.#lineNumber
    if (this.#lineBytes === 0) {
      // The common case, a line within one chunk: a view, no copy.
      const byteLength = piece[piece.length - 1] === CR ? piece.length - 1 : piece.length
      if (byteLength === 0) return
      const truncated = byteLength > this.#maxLineBytes
      const bytes = piece.subarray(0, truncated ? this.#sampleBytes : byteLength)
      lines.push({ bytes, byteLength, truncated, lineNumber, end })
      return
    }
    const total = this.#lineBytes + piece.length
    const last = piece.length > 0 ? piece[piece.length - 1] : this.#lastByte
    const byteLength = last === CR ? total - 1 : total
    if (this.#sample || byteLength > this.#maxLineBytes) {
      const bytes = this.#sample ?? this.#firstBytes(piece)
      lines.push({ bytes, byteLength, truncated: true, lineNumber, end })
    } else if (byteLength > 0) {
      // One copy of the whole line, when its newline comes: linear however many chunks it spanned.
      const whole = Buffer.concat([...this.#blocks, this.#open.subarray(0, this.#openLength), piece], total)
      lines.push({ bytes: whole.subarray(0, byteLength), byteLength, truncated: false, lineNumber, end })
    }
    this.#blocks = []
    this.#open = EMPTY
    this.#openLength = 0
    this.#lineBytes = 0
    this.#sample = undefined
    this.#lastByte = -1
  }

  /** The first `sampleBytes` of the held bytes followed by `piece`, as a copy. */
  #firstBytes(piece: Buffer): Buffer {
    const pieces = [...this.#blocks, this.#open.subarray(0, this.#openLength), piece]
    const sample = Buffer.allocUnsafe(this.#sampleBytes)
    let length = 0
    for (const from of pieces) {
      if (length === sample.length) break
      length += from.copy(sample, length, 0, Math.min(from.length, sample.length - length))
    }
    return sample.subarray(0, length)
  }
}

/**
 * Splits a byte stream into lines. A final line without a newline is still yielded; empty lines
 * (after the `\r` strip) are skipped. Reads the source only as fast as lines are consumed.
 */
export async function* frameLines(
  source: AsyncIterable<Uint8Array>,
  options: FrameOptions = {},
): AsyncGenerator<FramedLine> {
  const framer = new LineFramer(options)
  for await (const chunk of source) yield* framer.push(chunk)
  yield* framer.end()
}
