// Splits a byte stream into text lines on `\n` bytes (a multibyte character may straddle chunks), strips `\r`,
// and caps a line's length so a server that never writes a newline cannot grow memory without bound.

export class LineSplitter {
  private pending: Buffer[] = []
  private pendingBytes = 0
  private truncated = false

  private readonly onLine: (line: string) => void
  private readonly maxLineBytes: number

  constructor(onLine: (line: string) => void, maxLineBytes = 8 * 1024) {
    this.onLine = onLine
    this.maxLineBytes = maxLineBytes
  }

  push(chunk: Buffer): void {
    let start = 0
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      this.keep(chunk.subarray(start, index))
      this.emit()
      start = index + 1
    }
    this.keep(chunk.subarray(start))
  }

  /** Emits what is left after the stream ended without a final newline. */
  end(): void {
    if (this.pendingBytes > 0 || this.truncated) this.emit()
  }

  private keep(bytes: Buffer): void {
    const room = this.maxLineBytes - this.pendingBytes
    if (bytes.length > room) this.truncated = true
    const kept = bytes.subarray(0, Math.max(room, 0))
    if (kept.length === 0) return
    this.pending.push(kept)
    this.pendingBytes += kept.length
  }

  private emit(): void {
    // A cut inside a multibyte character decodes to U+FFFD, which is fine for a diagnostic line.
    const text = Buffer.concat(this.pending).toString("utf8").replace(/\r$/, "")
    this.onLine(this.truncated ? `${text}… (line cut at ${this.maxLineBytes} bytes)` : text)
    this.pending = []
    this.pendingBytes = 0
    this.truncated = false
  }
}
