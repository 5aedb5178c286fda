// Collects a stream's bytes up to a cap, keeping the head and the tail (where errors usually are) and counting the rest.

export type CappedText = {
  text: string
  /** bytes that were received but not kept */
  droppedBytes: number
}

export class CappedOutput {
  readonly #headLimit: number
  readonly #tailLimit: number
  #head: Buffer[] = []
  #headBytes = 0
  #tail: Buffer[] = []
  #tailBytes = 0
  #droppedBytes = 0

  /** keeps at most `maxBytes`: the first half and the last half */
  constructor(maxBytes: number) {
    this.#headLimit = Math.ceil(maxBytes / 2)
    this.#tailLimit = Math.floor(maxBytes / 2)
  }

  push(chunk: Buffer): void {
    const headRoom = this.#headLimit - this.#headBytes
    if (headRoom > 0) {
      const kept = chunk.subarray(0, headRoom)
      this.#head.push(kept)
      this.#headBytes += kept.length
      chunk = chunk.subarray(kept.length)
    }
    if (chunk.length === 0) return
    this.#tail.push(chunk)
    this.#tailBytes += chunk.length
    this.#trimTail()
  }

  finish(): CappedText {
    const head = Buffer.concat(this.#head).toString("utf8")
    const tail = Buffer.concat(this.#tail).toString("utf8")
    if (this.#droppedBytes === 0)
      return { text: Buffer.concat([...this.#head, ...this.#tail]).toString("utf8"), droppedBytes: 0 }
    return {
      text: `${head}\n[… ${this.#droppedBytes} bytes dropped …]\n${tail}`,
      droppedBytes: this.#droppedBytes,
    }
  }

  #trimTail(): void {
    while (this.#tailBytes > this.#tailLimit) {
      const first = this.#tail[0]
      if (first === undefined) return
      const excess = this.#tailBytes - this.#tailLimit
      if (first.length <= excess) {
        this.#tail.shift()
        this.#tailBytes -= first.length
        this.#droppedBytes += first.length
      } else {
        this.#tail[0] = first.subarray(excess)
        this.#tailBytes -= excess
        this.#droppedBytes += excess
      }
    }
  }
}
