// Writes Server-Sent Events to a response, waiting for the socket to drain (a slow client slows the reader, not memory).
import type { ServerResponse } from "node:http"

const KEEPALIVE_MS = 15_000

export class SseWriter {
  readonly #response: ServerResponse
  readonly #keepalive: NodeJS.Timeout

  constructor(response: ServerResponse, options: { retryMs: number }) {
    this.#response = response
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      // nginx and friends must not buffer the stream
      "X-Accel-Buffering": "no",
    })
    response.flushHeaders()
    response.write(`retry: ${options.retryMs}\n\n`)
    // A comment now and then keeps proxies from closing an idle stream.
    this.#keepalive = setInterval(() => response.write(": keepalive\n\n"), KEEPALIVE_MS)
    this.#keepalive.unref()
  }

  /** `data` must be one line (JSON is). Resolves once the frame is handed to the socket or the client has gone. */
  async send(frame: { id?: string; event: string; data: string | Buffer }): Promise<void> {
    const head = `${frame.id !== undefined ? `id: ${frame.id}\n` : ""}event: ${frame.event}\ndata: `
    const response = this.#response
    if (response.destroyed) return
    response.write(head)
    response.write(frame.data)
    if (!response.write("\n\n")) await drained(response)
  }

  end(): void {
    clearInterval(this.#keepalive)
    if (!this.#response.destroyed) this.#response.end()
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done)
      response.off("close", done)
      resolve()
    }
    response.on("drain", done)
    response.on("close", done)
  })
}
