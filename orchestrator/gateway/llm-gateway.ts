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
import { listenForSandboxes } from "./listen.ts"
import { budgetSpent } from "./token-budget.ts"
import { UsageTap } from "./usage-tap.ts"

export interface LlmGateway {
  /** the base URL a run is given: on the address it listens on (loopback, which the docker backend rewrites) */
  readonly url: string
  /**
   * A fresh token, valid for this run until revoked. `model`: the run's model, which an Azure deployment-based
   * URL names in its path (the sandbox's request body is streamed on, never read for it).
   */
  issueToken(runId: string, options?: { model?: string }): string
  revokeToken(token: string): void
  /**
   * Tells the run holding `token` that the event is stored: its runtime, with no stdin to hear it on (a Kubernetes
   * pod), asks GET /perstack/acks/<eventId> before it runs the event's tool calls.
   */
  acknowledge(token: string, eventId: string): void
  /** tokens the run's requests reported, summed */
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

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const body = JSON.stringify({ error: { message, type: code, code, param: null } })
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  })
  response.end(body)
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

/** Where a run's runtime long-polls for the acknowledgement of a stored event (see LlmGateway.acknowledge). */
export const ACK_PATH = "/perstack/acks/"
/** A long poll answers 204 after this long without the acknowledgement; the runtime asks again. */
const ACK_POLL_MS = 20_000

interface RunAcks {
  done: Set<string>
  waiting: Map<string, Set<(status: number) => void>>
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined
}

export async function startLlmGateway(options: LlmGatewayOptions): Promise<LlmGateway> {
  const provider = resolveProvider({ provider: options.provider, env: options.env })
  const upstreamHeaders: OutgoingHttpHeaders = {
    ...provider.headers,
    ...authHeader(provider),
    ...(provider.organization ? { "openai-organization": provider.organization } : {}),
    ...(provider.project ? { "openai-project": provider.project } : {}),
  }
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

  const acks = new Map<string, RunAcks>()

  /** GET /perstack/acks/<eventId>: 200 once the event is stored, 204 to ask again, 410 once the run has ended. */
  function answerAck(request: IncomingMessage, response: ServerResponse, eventId: string): void {
    request.resume()
    const token = bearer(request.headers.authorization)
    const run = token === undefined ? undefined : acks.get(token)
    if (!run) {
      sendError(response, 401, "gateway.invalidToken", "the gateway token is unknown, or its run has ended")
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

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0] ?? "/"
    if (path.startsWith(ACK_PATH) && request.method === "GET") {
      answerAck(request, response, decodeURIComponent(path.slice(ACK_PATH.length)))
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
    const grant = token === undefined ? undefined : grants.get(token)
    if (grant === undefined) {
      request.resume()
      sendError(response, 401, "gateway.invalidToken", "the gateway token is unknown, or its run has ended")
      return
    }
    if (budgetError) {
      request.resume()
      // 402: not a rate limit, and not retried by the runtime; the run stops with this message.
      sendError(response, 402, "budget.exceeded", budgetError)
      return
    }
    // The provider asked the job to slow down: every run's request waits out the pause, not only the refused one.
    const wait = pausedUntil - Date.now()
    if (wait > 0) {
      const timer = setTimeout(() => forward(request, response, route, grant), wait)
      response.once("close", () => clearTimeout(timer))
      return
    }
    forward(request, response, route, grant)
  }

  function forward(
    request: IncomingMessage,
    response: ServerResponse,
    route: { method: string; path: string },
    { runId, model }: { runId: string; model?: string },
  ): void {
    const headers: OutgoingHttpHeaders = { ...upstreamHeaders }
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value
    }
    const aborter = new AbortController()
    // A client that goes away takes the provider request with it.
    response.once("close", () => {
      if (!response.writableFinished) aborter.abort()
    })
    const upstream = transport.request(upstreamUrl(route.path, model), {
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
      response.writeHead(status, outHeaders)
      response.flushHeaders()
      const tap =
        status < 300 && route.path === "chat/completions"
          ? new UsageTap(answer.headers["content-type"])
          : undefined
      if (tap) {
        answer.on("data", (chunk: Buffer) => tap.write(chunk))
        answer.once("end", () => {
          const spent = tap.end()
          if (spent) record(runId, spent)
        })
      }
      // Chunk by chunk, pausing the provider when the sandbox reads slowly.
      pipeline(answer, response, () => undefined)
    })
    upstream.once("error", (error) => {
      if (aborter.signal.aborted) return
      sendError(
        response,
        502,
        "gateway.upstream",
        `the gateway could not reach the provider: ${error.message}`,
      )
    })
    pipeline(request, upstream, () => undefined)
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
      acks.set(token, { done: new Set(), waiting: new Map() })
      return token
    },
    revokeToken(token) {
      grants.delete(token)
      const run = acks.get(token)
      acks.delete(token)
      // A runtime still waiting hears that its run is over.
      for (const waiters of run?.waiting.values() ?? []) for (const answer of [...waiters]) answer(410)
    },
    acknowledge(token, eventId) {
      const run = acks.get(token)
      if (!run) return
      run.done.add(eventId)
      for (const answer of [...(run.waiting.get(eventId) ?? [])]) answer(200)
      run.waiting.delete(eventId)
    },
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
