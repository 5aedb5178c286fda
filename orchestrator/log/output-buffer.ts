// Collects output into chunks of ~64 KiB before handing them to the writer: a million short lines, a few hundred writes.

const FLUSH_AT = 64 * 1024

export class OutputBuffer {
  readonly #write: (text: string) => void
  #parts: string[] = []
  #size = 0

  constructor(write: (text: string) => void) {
    this.#write = write
  }

  write(text: string): void {
    this.#parts.push(text)
    this.#size += text.length
    if (this.#size >= FLUSH_AT) this.flush()
  }

  line(text = ""): void {
    this.write(`${text}\n`)
  }

  flush(): void {
    if (this.#parts.length === 0) return
    const text = this.#parts.join("")
    this.#parts = []
    this.#size = 0
    this.#write(text)
  }
}
