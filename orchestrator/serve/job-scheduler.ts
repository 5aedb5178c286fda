// A bounded number of running jobs and a bounded queue; beyond both, a 429 whose Retry-After comes from measured durations.
import { HttpError } from "./http-error.ts"

export interface ScheduledTask {
  jobId: string
  /** runs the job; aborting `signal` stops it gracefully (it stays resumable) */
  execute(signal: AbortSignal): Promise<void>
}

export interface Ticket {
  /** hands the admitted task over: it runs now or when a slot frees */
  submit(task: ScheduledTask): void
  /** gives the place back (the job could not be recorded) */
  release(): void
}

/** Until a job has finished, assume this long for Retry-After. */
const FIRST_GUESS_MS = 10_000

export class JobScheduler {
  readonly maxRunning: number
  readonly maxQueued: number
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>()
  readonly #queue: ScheduledTask[] = []
  #reserved = 0
  #closed = false
  /** mean of recent job durations, ms */
  #meanMs = FIRST_GUESS_MS
  readonly #onError: (jobId: string, error: unknown) => void

  constructor(options: {
    maxRunning: number
    maxQueued: number
    onError: (jobId: string, error: unknown) => void
  }) {
    this.maxRunning = options.maxRunning
    this.maxQueued = options.maxQueued
    this.#onError = options.onError
  }

  get running(): number {
    return this.#running.size
  }

  get queued(): number {
    return this.#queue.length
  }

  isRunning(jobId: string): boolean {
    return this.#running.has(jobId)
  }

  /** 1-based place in the queue, or undefined. */
  position(jobId: string): number | undefined {
    const index = this.#queue.findIndex((task) => task.jobId === jobId)
    return index < 0 ? undefined : index + 1
  }

  isActive(jobId: string): boolean {
    return this.isRunning(jobId) || this.position(jobId) !== undefined
  }

  /** Takes a place synchronously (no two requests can take the last one), or throws a 429 / 503. */
  admit(): Ticket {
    if (this.#closed) throw new HttpError(503, "server.shuttingDown", "the server is shutting down")
    const load = this.#running.size + this.#queue.length + this.#reserved
    if (load >= this.maxRunning + this.maxQueued) {
      const seconds = this.retryAfterSeconds()
      throw new HttpError(
        429,
        "queue.full",
        `${this.#running.size} jobs running and ${this.#queue.length} queued, the most this server takes; retry in ${seconds} s`,
        { headers: { "Retry-After": String(seconds) } },
      )
    }
    this.#reserved++
    let used = false
    const use = () => {
      if (used) throw new Error("ticket used twice")
      used = true
      this.#reserved--
    }
    return {
      submit: (task) => {
        use()
        this.#queue.push(task)
        this.#pump()
      },
      release: () => {
        use()
      },
    }
  }

  /** Puts a job back in the queue at start-up, over the limit if need be: it was accepted before the restart. */
  requeue(task: ScheduledTask): void {
    this.#queue.push(task)
    this.#pump()
  }

  /** When a place should free: the queue ahead, spread over the running slots, at the mean job duration. */
  retryAfterSeconds(): number {
    const waves = Math.ceil((this.#queue.length + 1) / this.maxRunning)
    return Math.min(300, Math.max(1, Math.ceil((waves * this.#meanMs) / 1000)))
  }

  /** Cancels a job: a queued one leaves the queue (true), a running one is stopped gracefully. */
  cancel(jobId: string): "dequeued" | "stopping" | undefined {
    const index = this.#queue.findIndex((task) => task.jobId === jobId)
    if (index >= 0) {
      this.#queue.splice(index, 1)
      return "dequeued"
    }
    const running = this.#running.get(jobId)
    if (!running) return undefined
    running.controller.abort()
    return "stopping"
  }

  /** Starts nothing more; stops every running job gracefully and waits for them. Queued jobs stay recorded. */
  async close(): Promise<void> {
    this.#closed = true
    this.#queue.length = 0
    const running = [...this.#running.values()]
    for (const job of running) job.controller.abort()
    await Promise.all(running.map((job) => job.done))
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.maxRunning) {
      const task = this.#queue.shift()
      if (!task) return
      const controller = new AbortController()
      const started = Date.now()
      const done = (async () => {
        try {
          await task.execute(controller.signal)
        } catch (error) {
          this.#onError(task.jobId, error)
        } finally {
          // An exponential moving average: recent jobs say more about the next wait than old ones.
          this.#meanMs = this.#meanMs * 0.8 + (Date.now() - started) * 0.2
          this.#running.delete(task.jobId)
          this.#pump()
        }
      })()
      this.#running.set(task.jobId, { controller, done })
    }
  }
}
