// The provider's 429s, for the whole job: the pause one asks for holds every run's next request, not only its own.
import type { IncomingMessage, ServerResponse } from "node:http"

/** What a 429 asks for: `retry-after-ms`, else `retry-after` (seconds or an HTTP date), else 1 s; at most 60 s. */
export function rateLimitPauseMs(headers: IncomingMessage["headers"], now = Date.now()): number {
  const header = (name: string) => {
    const value = headers[name]
    return Array.isArray(value) ? value[0] : value
  }
  const milliseconds = Number(header("retry-after-ms"))
  const retryAfter = header("retry-after")
  let pause = 1000
  if (Number.isFinite(milliseconds) && milliseconds > 0) pause = milliseconds
  else if (retryAfter !== undefined && /^\d+(\.\d+)?$/.test(retryAfter.trim()))
    pause = Number(retryAfter) * 1000
  else if (retryAfter !== undefined && Number.isFinite(Date.parse(retryAfter)))
    pause = Date.parse(retryAfter) - now
  return Math.min(Math.max(pause, 0), 60_000)
}

export class RateLimitHold {
  /** until when requests are held */
  private pausedUntil = 0

  /** The provider answered 429 with these headers. */
  refused(headers: IncomingMessage["headers"]): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + rateLimitPauseMs(headers))
  }

  /** Runs `go` now, or once the pause is over (never, if the client has gone by then). */
  held(response: ServerResponse, go: () => void): void {
    const wait = this.pausedUntil - Date.now()
    if (wait <= 0) {
      go()
      return
    }
    const timer = setTimeout(go, wait)
    response.once("close", () => clearTimeout(timer))
  }
}
