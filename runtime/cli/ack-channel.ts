// Acknowledgements from the orchestrator on stdin: a tool runs only once the orchestrator has stored the call,
// so an orchestrator that dies can never lose a call that already had side effects. stdin closing means the
// orchestrator is gone: every wait fails, and the run stops before doing anything more.
import { createInterface } from "node:readline"
import { PerstackError } from "../errors/perstack-error.ts"

export class AckChannel {
  private readonly acked = new Set<string>()
  private readonly waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>()
  private closed = false
  private readonly lines: ReturnType<typeof createInterface>
  private readonly stream: NodeJS.ReadableStream

  /** Reads `{"ack": "<eventId>"}` lines from the rest of `stream`. */
  constructor(stream: NodeJS.ReadableStream) {
    this.stream = stream
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
    this.lines = lines
    lines.on("line", (line) => {
      let id: unknown
      try {
        id = (JSON.parse(line) as { ack?: unknown }).ack
      } catch {
        return
      }
      if (typeof id !== "string") return
      const waiter = this.waiting.get(id)
      if (waiter) {
        this.waiting.delete(id)
        waiter.resolve()
      } else this.acked.add(id)
    })
    lines.on("close", () => {
      this.closed = true
      const gone = new PerstackError(
        "run.orchestratorLost",
        "the orchestrator is gone (stdin closed): stopping",
      )
      for (const waiter of this.waiting.values()) waiter.reject(gone)
      this.waiting.clear()
    })
  }

  /** Stops reading: the run is over, and an open stdin must not keep the process alive. */
  close(): void {
    this.lines.close()
    ;(this.stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
  }

  wait(eventId: string): Promise<void> {
    if (this.acked.delete(eventId)) return Promise.resolve()
    if (this.closed)
      return Promise.reject(
        new PerstackError("run.orchestratorLost", "the orchestrator is gone (stdin closed)"),
      )
    return new Promise((resolve, reject) => this.waiting.set(eventId, { resolve, reject }))
  }
}
