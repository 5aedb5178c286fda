// Wakes the streams following a job when its orchestrator emits an event, so a live stream does not wait for a poll.

export class JobActivity {
  readonly #waiters = new Map<string, Set<() => void>>()

  notify(jobId: string): void {
    const waiters = this.#waiters.get(jobId)
    if (!waiters) return
    this.#waiters.delete(jobId)
    for (const wake of waiters) wake()
  }

  /** Resolves on the job's next event, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(jobId) ?? new Set()
      this.#waiters.set(jobId, waiters)
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener("abort", done)
        waiters.delete(done)
        if (waiters.size === 0 && this.#waiters.get(jobId) === waiters) this.#waiters.delete(jobId)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      timer.unref()
      waiters.add(done)
      signal?.addEventListener("abort", done, { once: true })
    })
  }
}
