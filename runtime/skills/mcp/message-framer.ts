// Frames an MCP server's stdout into JSON-RPC lines on newline bytes. Chunks are kept in a list and joined once per
// line: the SDK's ReadBuffer concatenates its whole buffer with every chunk, which takes seconds for a message of a
// few megabytes. A line over the cap stops the framing for good: the channel cannot be trusted after it.

export class MessageFramer {
  private chunks: Buffer[] = []
  private size = 0
  private overflowed = false
  private readonly maxBytes: number

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Hands each complete line to `onLine`; returns false once a line went over the cap (nothing more is framed). */
  push(chunk: Buffer, onLine: (line: string) => void): boolean {
    if (this.overflowed) return false
    let start = 0
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (!this.keep(chunk.subarray(start, newline))) return false
      const line =
        this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size)
      this.chunks = []
      this.size = 0
      onLine(line.toString("utf8").replace(/\r$/, ""))
      start = newline + 1
    }
    return this.keep(chunk.subarray(start))
  }

  private keep(bytes: Buffer): boolean {
    if (bytes.length === 0) return true
    this.size += bytes.length
    if (this.size > this.maxBytes) {
      this.overflowed = true
      this.chunks = []
      return false
    }
    this.chunks.push(bytes)
    return true
  }
}
