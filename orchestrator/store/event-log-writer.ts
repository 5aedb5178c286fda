// Appends events to a run's events.ndjson in batches: one write per burst, never one per event.

import type { FileHandle } from "node:fs/promises"
import { mkdir, open } from "node:fs/promises"
import path from "node:path"
import { storageError } from "./store-errors.ts"
import { trimTornTail } from "./torn-tail.ts"

/** Above this many buffered bytes, `append` makes the caller wait for the disk. */
const HIGH_WATER = 64 * 1024

export class EventLogWriter {
  private handle: Promise<FileHandle> | undefined
  private pending: string[] = []
  private pendingBytes = 0
  private flushing: Promise<void> | undefined
  private failure: unknown
  private readonly file: string
  private readonly onWarning: ((message: string) => void) | undefined

  constructor(file: string, onWarning?: (message: string) => void) {
    this.file = file
    this.onWarning = onWarning
  }

  /** Queues one event; returns a promise only when too much is buffered (backpressure). */
  append(value: unknown): Promise<void> | undefined {
    return this.appendLine(JSON.stringify(value))
  }

  /** Queues a line already serialised (as a sandbox printed it: a 10 MB event is not serialised again). */
  appendLine(text: string): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure)
    const line = `${text}\n`
    this.pending.push(line)
    this.pendingBytes += line.length
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushNow())
    return this.pendingBytes > HIGH_WATER ? this.flush() : undefined
  }

  /** Resolves when everything appended so far is written. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.failure) throw this.failure
  }

  async close(): Promise<void> {
    await this.flush()
    if (this.handle) await (await this.handle).close()
    this.handle = undefined
  }

  /** A line torn by a crash would glue itself to the next event: cut it off first, and say so. */
  private async openForAppend(): Promise<FileHandle> {
    await mkdir(path.dirname(this.file), { recursive: true })
    const cut = await trimTornTail(this.file)
    if (cut > 0) this.onWarning?.(`${this.file}: removed a torn last line (${cut} bytes) left by a crash`)
    return open(this.file, "a")
  }

  private async flushNow(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.join("")
        this.pending = []
        this.pendingBytes = 0
        this.handle ??= this.openForAppend()
        await (await this.handle).write(batch)
      }
    } catch (error) {
      this.failure = storageError(error, this.file)
    } finally {
      this.flushing = undefined
    }
  }
}
