// Bounds how many sandboxes run at once; waiters are served in order.

export class Semaphore {
  private available: number
  private readonly waiters: Array<() => void> = []

  constructor(size: number) {
    this.available = Math.max(1, size)
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available--
    else await new Promise<void>((resolve) => this.waiters.push(resolve))
    try {
      return await task()
    } finally {
      const next = this.waiters.shift()
      if (next) next()
      else this.available++
    }
  }
}
