// Forwards one run's request to the provider and streams the answer back: chunk by chunk, metered, scrubbed of the
// job's credentials, ended with its run (counting what it had spent), and a 429 held for the whole job.
import type { IncomingMessage, ServerResponse } from "node:http"
import { pipeline } from "node:stream"
import { scrubbingTransform } from "../secrets/scrub-transform.ts"
import type { ChatRequest } from "./chat-request.ts"
import type { GatewayLedger } from "./gateway-ledger.ts"
import { sendError, sendInvalidToken } from "./gateway-reply.ts"
import { type ProviderUpstream, passedHeaders } from "./provider-upstream.ts"
import type { RateLimitHold } from "./rate-limit-hold.ts"
import { RequestMeter } from "./request-meter.ts"

export interface ForwardContext {
  upstream: ProviderUpstream
  ledger: GatewayLedger
  hold: RateLimitHold
}

export interface ForwardedRequest {
  request: IncomingMessage
  response: ServerResponse
  route: { method: string; path: string }
  runId: string
  token: string
  /** a chat request, read: it goes as its body, metered */
  chat?: ChatRequest
}

export function forwardRequest(context: ForwardContext, forwarded: ForwardedRequest): void {
  const { upstream, ledger } = context
  const { request, response, route, runId, token, chat } = forwarded
  // Revoked while it was read or held: its run has ended.
  const grant = ledger.grant(token)
  if (!grant) {
    sendInvalidToken(response)
    return
  }
  const headers = passedHeaders(request.headers, upstream.headers)
  if (chat) headers["content-length"] = chat.body.length
  const meter = chat
    ? new RequestMeter({ promptBytes: chat.sentBytes, onSpent: (spent) => ledger.record(runId, spent) })
    : undefined
  const aborter = new AbortController()
  const forget = ledger.track(token, function end() {
    forget()
    meter?.finish(false)
    aborter.abort()
    response.destroy()
  })
  // A client that goes away takes the provider request with it; what was forwarded until then counts.
  response.once("close", () => {
    forget()
    if (response.writableFinished) return
    meter?.finish(false)
    aborter.abort()
  })
  const outgoing = upstream.transport.request(upstream.url(route.path, grant.model), {
    method: route.method,
    headers,
    agent: upstream.agent,
    signal: aborter.signal,
  })
  outgoing.once("response", (answer) => streamAnswer(context, answer, response, meter))
  outgoing.once("error", (error) => {
    meter?.finish(false)
    if (aborter.signal.aborted) return
    sendError(response, 502, "gateway.upstream", `the gateway could not reach the provider: ${error.message}`)
  })
  if (chat) outgoing.end(chat.body)
  else pipeline(request, outgoing, () => undefined)
}

function streamAnswer(
  { upstream, hold }: ForwardContext,
  answer: IncomingMessage,
  response: ServerResponse,
  meter: RequestMeter | undefined,
): void {
  const status = answer.statusCode ?? 502
  if (status === 429) hold.refused(answer.headers)
  const outHeaders = passedHeaders(answer.headers)
  // Scrubbed, the body may change length: it goes chunked.
  if (upstream.answerSecrets) delete outHeaders["content-length"]
  response.writeHead(status, outHeaders)
  response.flushHeaders()
  if (meter && status < 300) {
    meter.answered(answer.headers["content-type"])
    answer.on("data", (chunk: Buffer) => meter.write(chunk))
    answer.once("end", () => meter.finish(true))
  } else {
    meter?.refused()
  }
  // Chunk by chunk, pausing the provider when the sandbox reads slowly.
  if (upstream.answerSecrets)
    pipeline(answer, scrubbingTransform(upstream.answerSecrets), response, () => undefined)
  else pipeline(answer, response, () => undefined)
}
