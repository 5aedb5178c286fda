// Acknowledgements over HTTP, for sandboxes with no stdin from the orchestrator (Kubernetes pods): before running a
// stored event's tool calls the runtime long-polls the orchestrator's LLM gateway, GET /perstack/acks/<eventId>
// with its run's token. 200: stored; 204: not yet, ask again; anything else (the run revoked, the orchestrator
// gone): the run stops before doing anything more, as when the stdin channel closes.
import http from "node:http"
import https from "node:https"
import { PerstackError } from "../errors/perstack-error.ts"

export class HttpAckChannel {
  private readonly base: URL
  private readonly token: string
  private readonly aborter = new AbortController()

  /** `gateway`: the gateway's base URL (the run's LLM base URL); `token`: the run's gateway token. */
  constructor(gateway: string, token: string) {
    this.base = new URL("/perstack/acks/", gateway)
    this.token = token
  }

  async wait(eventId: string): Promise<void> {
    for (;;) {
      const status = await this.ask(eventId).catch((error: Error) => {
        throw new PerstackError(
          "run.orchestratorLost",
          `the orchestrator is gone (${error.message}): stopping`,
        )
      })
      if (status === 200) return
      if (status !== 204) {
        throw new PerstackError(
          "run.orchestratorLost",
          `the orchestrator did not acknowledge event ${eventId} (HTTP ${status}): stopping`,
        )
      }
    }
  }

  /** Stops asking: the run is over. */
  close(): void {
    this.aborter.abort()
  }

  private ask(eventId: string): Promise<number> {
    const url = new URL(encodeURIComponent(eventId), this.base)
    const client = url.protocol === "https:" ? https : http
    return new Promise((resolve, reject) => {
      const request = client.get(url, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: this.aborter.signal,
        agent: false,
      })
      request.once("response", (response) => {
        response.resume()
        response.once("end", () => resolve(response.statusCode ?? 0))
        response.once("error", reject)
      })
      request.once("error", reject)
    })
  }
}
