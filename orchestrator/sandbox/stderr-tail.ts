// Keeps the last few KB of a stream's text, for crash reports, without holding the rest.

export class StderrTail {
  private chunks: Buffer[] = []
  private size = 0
  private readonly limit: number

  constructor(limit = 8 * 1024) {
    this.limit = limit
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.size += chunk.length
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks)
    return all
      .subarray(Math.max(0, all.length - this.limit))
      .toString("utf8")
      .replace(/^\uFFFD+/, "")
  }
}
