// The orchestrator's LLM gateway (OpenAI-compatible, and Anthropic's Messages API for the anthropic provider): a sandbox holds a per-run token, never the provider's key. The
// gateway swaps the token for the key, forwards to the provider, streams the answer back, counts tokens and
// refuses a job's requests once its [budget] is spent. A 429 holds every run's next request for the pause it asks.
import http, { type IncomingMessage, type ServerResponse } from "node:http"
import type { TokenBudget } from "../../runtime/protocol/config/perstack-toml.ts"
import type { ProviderConfig } from "../../runtime/protocol/config/provider.ts"
import type { Usage } from "../../runtime/protocol/usage.ts"
import { ACK_PATH, AckBoard } from "./ack-board.ts"
import { readChatRequest } from "./chat-request.ts"
import { type ForwardContext, forwardRequest } from "./forward-request.ts"
import { GatewayLedger } from "./gateway-ledger.ts"
import { bearer, sendError, sendInvalidToken } from "./gateway-reply.ts"
import { listenForSandboxes } from "./listen.ts"
import { providerUpstream } from "./provider-upstream.ts"
import { RateLimitHold } from "./rate-limit-hold.ts"

export interface LlmGateway {
  /** the base URL a run is given: on the address it listens on (loopback, which the docker backend rewrites) */
  readonly url: string
  /** a fresh token, valid for this run until revoked */
  /**
   * A fresh token, valid for this run until revoked. `model`: the run's model, which an Azure deployment-based URL
   * names in its path.
   */
  issueToken(runId: string, options?: { model?: string }): string
  revokeToken(token: string): void
  /**
   * Tells the run holding `token` that the event is stored: its runtime, with no stdin to hear it on (a Kubernetes
   * pod), asks GET /perstack/acks/<eventId> before it runs the event's tool calls.
   */
  acknowledge(token: string, eventId: string): void
  /**
   * The run's tokens: what its provider reported, or an estimate where it reported nothing (see RequestMeter).
   * Exact once its token is revoked: that ends (and counts) its requests still in flight.
   */
  runUsage(runId: string): Usage
  /** the whole job's tokens (including what it had spent before this process) */
  readonly usage: Usage
  /** set once the job's budget is spent: every further request is refused with it */
  readonly budgetError: string | undefined
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface LlmGatewayOptions {
  provider: ProviderConfig
  /** where the real key, base URL and organization are read from */
  env: Readonly<Record<string, string | undefined>>
  /** default 127.0.0.1; the docker bridge's address for containers */
  host?: string
  /** default 0: any free port */
  port?: number
  budget?: TokenBudget
  /** what a continued job had spent already */
  initialUsage?: Usage
}

const ROUTES: Record<string, { method: string; path: string }> = {
  "/v1/chat/completions": { method: "POST", path: "chat/completions" },
  "/v1/models": { method: "GET", path: "models" },
  // Anthropic's own Messages API, which the runtime speaks to the anthropic provider.
  "/v1/messages": { method: "POST", path: "messages" },
}

/** The routes whose body is a generation request, read whole and metered. */
const GENERATIONS = new Set(["chat/completions", "messages"])

export async function startLlmGateway(options: LlmGatewayOptions): Promise<LlmGateway> {
  const context: ForwardContext = {
    upstream: providerUpstream(options.provider, options.env),
    ledger: new GatewayLedger(options.budget, options.initialUsage),
    hold: new RateLimitHold(),
  }
  const acks = new AckBoard()
  const server = http.createServer((request, response) => handle(context, acks, request, response))
  server.keepAliveTimeout = 30_000
  const { host, port } = await listenForSandboxes(server, options.host, options.port)

  const { ledger } = context
  const close = async () => {
    ledger.revokeAll()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    context.upstream.agent.destroy()
  }
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    issueToken(runId, options) {
      const token = ledger.issue({ runId, ...(options?.model !== undefined ? { model: options.model } : {}) })
      acks.open(token)
      return token
    },
    revokeToken(token) {
      ledger.revoke(token)
      acks.close(token)
    },
    acknowledge: (token, eventId) => acks.acknowledge(token, eventId),
    runUsage: (runId) => ledger.runUsage(runId),
    get usage() {
      return ledger.usage
    },
    get budgetError() {
      return ledger.budgetError
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** One request of a sandbox's: an acknowledgement asked for, or a run's call to the provider. */
function handle(
  context: ForwardContext,
  acks: AckBoard,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const path = (request.url ?? "/").split("?")[0] ?? "/"
  if (path.startsWith(ACK_PATH) && request.method === "GET") {
    acks.answer(request, response, decodeURIComponent(path.slice(ACK_PATH.length)))
    return
  }
  const route = ROUTES[path]
  const anthropic = context.upstream.wire === "anthropic"
  if (!route || route.method !== request.method || (route.path === "messages" && !anthropic)) {
    request.resume()
    sendError(
      response,
      404,
      "gateway.notFound",
      `the gateway serves POST /v1/chat/completions${anthropic ? ", POST /v1/messages" : ""} and GET /v1/models`,
    )
    return
  }
  // Anthropic's clients send the key (here the run's token) in x-api-key, or as a Bearer token.
  const apiKeyHeader = request.headers["x-api-key"]
  const token =
    bearer(request.headers.authorization) ?? (typeof apiKeyHeader === "string" ? apiKeyHeader : undefined)
  const runId = context.ledger.grant(token)?.runId
  if (token === undefined || runId === undefined) {
    request.resume()
    sendInvalidToken(response)
    return
  }
  if (context.ledger.budgetError) {
    request.resume()
    // 402: not a rate limit, and not retried by the runtime; the run stops with this message.
    sendError(response, 402, "budget.exceeded", context.ledger.budgetError)
    return
  }
  const forward = { request, response, route, runId, token }
  if (!GENERATIONS.has(route.path)) {
    context.hold.held(response, () => forwardRequest(context, forward))
    return
  }
  // A chat request is read whole: only a request the gateway can read is one whose tokens it can count.
  readChatRequest(request, { wire: route.path === "messages" ? "anthropic" : "openai" }).then(
    (chat) => {
      if ("status" in chat) sendError(response, chat.status, chat.code, chat.message)
      else context.hold.held(response, () => forwardRequest(context, { ...forward, chat }))
    },
    () => response.destroy(),
  )
}
