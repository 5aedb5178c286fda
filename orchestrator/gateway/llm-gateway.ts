// The orchestrator's OpenAI-compatible LLM gateway: a sandbox holds a per-run token, never the provider's key. The
// gateway swaps the token for the key, forwards to the provider, streams the answer back, counts tokens and
// refuses a job's requests once its [budget] is spent. A 429 holds every run's next request for the pause it asks.
import { randomBytes } from "node:crypto"
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http"
import https from "node:https"
import { pipeline } from "node:stream"
import { authHeader, requestTarget, resolveProvider } from "../../runtime/llm/resolve-provider.ts"
import type { TokenBudget } from "../../runtime/protocol/config/perstack-toml.ts"
import type { ProviderConfig } from "../../runtime/protocol/config/provider.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import { isSecretValue, providerSecrets } from "../secrets/job-secrets.ts"
import { scrubbingTransform } from "../secrets/scrub-transform.ts"
import { SecretScrubber } from "../secrets/secret-scrubber.ts"
import { ACK_PATH, AckBoard } from "./ack-board.ts"
import { type ChatRequest, readChatRequest } from "./chat-request.ts"
import { bearer, sendError, sendInvalidToken } from "./gateway-reply.ts"
import { listenForSandboxes } from "./listen.ts"
import { RequestMeter } from "./request-meter.ts"
import { budgetSpent } from "./token-budget.ts"

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

/** Not forwarded in either direction: they describe one connection, or carry a credential the gateway replaces. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "authorization",
  "api-key",
  "openai-organization",
  "openai-project",
])

const ROUTES: Record<string, { method: string; path: string }> = {
  "/v1/chat/completions": { method: "POST", path: "chat/completions" },
  "/v1/models": { method: "GET", path: "models" },
}

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

export async function startLlmGateway(options: LlmGatewayOptions): Promise<LlmGateway> {
  const provider = resolveProvider({ provider: options.provider, env: options.env })
  const upstreamHeaders: OutgoingHttpHeaders = {
    ...provider.headers,
    ...authHeader(provider),
    ...(provider.organization ? { "openai-organization": provider.organization } : {}),
    ...(provider.project ? { "openai-project": provider.project } : {}),
  }
  // A provider may echo the key it was sent (an error saying which key it refused): the sandbox never gets it.
  const credentials = providerSecrets({ provider: options.provider, env: options.env })
  if (isSecretValue(provider.apiKey) && !credentials.some((secret) => secret.value === provider.apiKey))
    credentials.push({ name: "provider-key", value: provider.apiKey })
  const answerSecrets = credentials.length > 0 ? new SecretScrubber(credentials, []) : undefined
  const secure = provider.baseUrl.startsWith("https:")
  /** Where a run's request goes: the provider's URL for the path, with Azure's deployment and api-version. */
  const upstreamUrl = (path: string, model: string | undefined): string => {
    const target = requestTarget(provider, model ?? "")
    const url = new URL(`${target.baseUrl.replace(/\/+$/, "")}/${path}`)
    for (const [name, value] of Object.entries(target.query)) url.searchParams.set(name, value)
    return url.toString()
  }
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true })
  const transport = secure ? https : http

  const grants = new Map<string, { runId: string; model?: string }>()
  const perRun = new Map<string, Usage>()
  let usage = options.initialUsage ?? emptyUsage()
  let budgetError = budgetSpent(options.budget, usage)
  /** until when requests are held after the provider's 429 (shared by all the job's runs) */
  let pausedUntil = 0

  const record = (runId: string, spent: Usage) => {
    perRun.set(runId, addUsage(perRun.get(runId) ?? emptyUsage(), spent))
    usage = addUsage(usage, spent)
    budgetError ??= budgetSpent(options.budget, usage)
  }

  const acks = new AckBoard()
  /** per token, how to end each of its requests in flight (counting what they had spent) */
  const inFlight = new Map<string, Set<() => void>>()

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0] ?? "/"
    if (path.startsWith(ACK_PATH) && request.method === "GET") {
      acks.answer(request, response, decodeURIComponent(path.slice(ACK_PATH.length)))
      return
    }
    const route = ROUTES[path]
    if (!route || route.method !== request.method) {
      request.resume()
      sendError(
        response,
        404,
        "gateway.notFound",
        `the gateway serves POST /v1/chat/completions and GET /v1/models`,
      )
      return
    }
    const token = bearer(request.headers.authorization)
    const runId = token === undefined ? undefined : grants.get(token)?.runId
    if (token === undefined || runId === undefined) {
      request.resume()
      sendInvalidToken(response)
      return
    }
    if (budgetError) {
      request.resume()
      // 402: not a rate limit, and not retried by the runtime; the run stops with this message.
      sendError(response, 402, "budget.exceeded", budgetError)
      return
    }
    if (route.path !== "chat/completions") {
      held(response, () => forward({ request, response, route, runId, token }))
      return
    }
    // A chat request is read whole: only a request the gateway can read is one whose tokens it can count.
    readChatRequest(request).then(
      (chat) => {
        if ("status" in chat) sendError(response, chat.status, chat.code, chat.message)
        else held(response, () => forward({ request, response, route, runId, token, chat }))
      },
      () => response.destroy(),
    )
  }

  /** The provider asked the job to slow down: every run's request waits out the pause, not only the refused one. */
  function held(response: ServerResponse, go: () => void): void {
    const wait = pausedUntil - Date.now()
    if (wait <= 0) {
      go()
      return
    }
    const timer = setTimeout(go, wait)
    response.once("close", () => clearTimeout(timer))
  }

  function forward(options: {
    request: IncomingMessage
    response: ServerResponse
    route: { method: string; path: string }
    runId: string
    token: string
    /** a chat request, read: it goes as its body, metered */
    chat?: ChatRequest
  }): void {
    const { request, response, route, runId, token, chat } = options
    // Revoked while it was read or held: its run has ended.
    if (!grants.has(token)) {
      sendInvalidToken(response)
      return
    }
    const headers: OutgoingHttpHeaders = { ...upstreamHeaders }
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value
    }
    if (chat) headers["content-length"] = chat.body.length
    const meter = chat
      ? new RequestMeter({ promptBytes: chat.sentBytes, onSpent: (spent) => record(runId, spent) })
      : undefined
    const aborter = new AbortController()
    const ends = inFlight.get(token) ?? new Set()
    inFlight.set(token, ends)
    const end = () => {
      ends.delete(end)
      meter?.finish(false)
      aborter.abort()
      response.destroy()
    }
    ends.add(end)
    // A client that goes away takes the provider request with it; what was forwarded until then counts.
    response.once("close", () => {
      ends.delete(end)
      if (response.writableFinished) return
      meter?.finish(false)
      aborter.abort()
    })
    const upstream = transport.request(upstreamUrl(route.path, grants.get(token)?.model), {
      method: route.method,
      headers,
      agent,
      signal: aborter.signal,
    })
    upstream.once("response", (answer) => {
      const status = answer.statusCode ?? 502
      if (status === 429) {
        pausedUntil = Math.max(pausedUntil, Date.now() + rateLimitPauseMs(answer.headers))
      }
      const outHeaders: OutgoingHttpHeaders = {}
      for (const [name, value] of Object.entries(answer.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) outHeaders[name] = value
      }
      // Scrubbed, the body may change length: it goes chunked.
      if (answerSecrets) delete outHeaders["content-length"]
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
      if (answerSecrets) pipeline(answer, scrubbingTransform(answerSecrets), response, () => undefined)
      else pipeline(answer, response, () => undefined)
    })
    upstream.once("error", (error) => {
      meter?.finish(false)
      if (aborter.signal.aborted) return
      sendError(
        response,
        502,
        "gateway.upstream",
        `the gateway could not reach the provider: ${error.message}`,
      )
    })
    if (chat) upstream.end(chat.body)
    else pipeline(request, upstream, () => undefined)
  }

  const server = http.createServer(handle)
  server.keepAliveTimeout = 30_000
  const { host, port } = await listenForSandboxes(server, options.host, options.port)

  const close = async () => {
    grants.clear()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    agent.destroy()
  }
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    issueToken(runId, options) {
      const token = `pgw-${randomBytes(32).toString("base64url")}`
      grants.set(token, { runId, ...(options?.model !== undefined ? { model: options.model } : {}) })
      acks.open(token)
      return token
    },
    revokeToken(token) {
      grants.delete(token)
      // Its sandbox has ended: what its requests still in flight had spent is counted now.
      for (const end of [...(inFlight.get(token) ?? [])]) end()
      inFlight.delete(token)
      acks.close(token)
    },
    acknowledge: (token, eventId) => acks.acknowledge(token, eventId),
    runUsage: (runId) => perRun.get(runId) ?? emptyUsage(),
    get usage() {
      return usage
    },
    get budgetError() {
      return budgetError
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
