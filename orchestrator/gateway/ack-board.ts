// The acknowledgements a run's runtime long-polls for (GET /perstack/acks/<eventId>) when it has no stdin to hear
// them on (a Kubernetes pod): 200 once the event is stored, 204 to ask again, 410 once the run has ended.
import type { IncomingMessage, ServerResponse } from "node:http"
import { bearer, sendInvalidToken } from "./gateway-reply.ts"

/** Where a run's runtime long-polls for the acknowledgement of a stored event (see LlmGateway.acknowledge). */
export const ACK_PATH = "/perstack/acks/"
/** A long poll answers 204 after this long without the acknowledgement; the runtime asks again. */
const ACK_POLL_MS = 20_000

interface RunAcks {
  done: Set<string>
  waiting: Map<string, Set<(status: number) => void>>
}

export class AckBoard {
  private readonly runs = new Map<string, RunAcks>()

  open(token: string): void {
    this.runs.set(token, { done: new Set(), waiting: new Map() })
  }

  /** The run has ended: a runtime still waiting hears so. */
  close(token: string): void {
    const run = this.runs.get(token)
    this.runs.delete(token)
    for (const waiters of run?.waiting.values() ?? []) for (const answer of [...waiters]) answer(410)
  }

  acknowledge(token: string, eventId: string): void {
    const run = this.runs.get(token)
    if (!run) return
    run.done.add(eventId)
    for (const answer of [...(run.waiting.get(eventId) ?? [])]) answer(200)
    run.waiting.delete(eventId)
  }

  answer(request: IncomingMessage, response: ServerResponse, eventId: string): void {
    request.resume()
    const token = bearer(request.headers.authorization)
    const run = token === undefined ? undefined : this.runs.get(token)
    if (!run) {
      sendInvalidToken(response)
      return
    }
    const reply = (status: number) => {
      if (response.headersSent) return
      response.writeHead(status, { "content-type": "application/json" })
      response.end(status === 200 ? JSON.stringify({ ack: eventId }) : "")
    }
    if (run.done.has(eventId)) {
      reply(200)
      return
    }
    const waiters = run.waiting.get(eventId) ?? new Set()
    run.waiting.set(eventId, waiters)
    const answer = (status: number) => {
      clearTimeout(timer)
      waiters.delete(answer)
      reply(status)
    }
    const timer = setTimeout(() => answer(204), ACK_POLL_MS)
    waiters.add(answer)
    response.once("close", () => {
      clearTimeout(timer)
      waiters.delete(answer)
    })
  }
}
