// A scripted stand-in for Anthropic's Messages API on loopback (POST /v1/messages, streamed as the real API streams),
// refusing what the real API refuses, so tests drive @anthropic-ai/sdk over real HTTP.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { closeSignal, readJsonBody, sendJson } from "../scripted-llm/http-exchange.ts"
import type { RecordedRequest } from "../scripted-llm/scripted-llm-server.ts"
import {
  answerEvents,
  assembled,
  sendAnthropicError,
  signThinking,
  streamEvents,
} from "./anthropic-events.ts"
import { type AnthropicReply, parseAnthropicReply } from "./anthropic-reply.ts"
import { checkBody, checkHeaders, type Refusal } from "./request-checks.ts"

export type { AnthropicReply } from "./anthropic-reply.ts"

export type AnthropicStep = AnthropicReply | ((request: RecordedRequest) => AnthropicReply)

export interface ScriptedAnthropicServer {
  /** the API's root, as the SDK's baseURL takes it (no /v1) */
  readonly url: string
  /** every request received, in order */
  readonly requests: readonly RecordedRequest[]
  /** every request refused as the real API would refuse it, with why */
  readonly refusals: readonly Refusal[]
  push(...steps: AnthropicStep[]): void
  remaining(): number
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface ScriptedAnthropicServerOptions {
  steps?: AnthropicStep[]
  /** when set, a request whose x-api-key is not this gets 401 (and consumes no step) */
  apiKey?: string
}

type Json = Record<string, unknown>
const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

function lowercasedHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

export async function startScriptedAnthropicServer(
  options: ScriptedAnthropicServerOptions = {},
): Promise<ScriptedAnthropicServer> {
  const requests: RecordedRequest[] = []
  const refusals: Refusal[] = []
  const steps: AnthropicStep[] = []
  let added = 0
  let messageCount = 0
  let toolUseCount = 0
  // Signatures only a stand-in could have made: a thinking block is verified as the real API verifies its own.
  const sign = signThinking
  const redactedIssued = new Set<string>()
  const push = (...more: AnthropicStep[]) => {
    for (const step of more)
      steps.push(typeof step === "function" ? step : parseAnthropicReply(step, `step ${added}`))
    added += more.length
  }
  push(...(options.steps ?? []))

  const refuse = (response: ServerResponse, refusal: Refusal) => {
    refusals.push(refusal)
    sendAnthropicError(response, refusal.status, refusal.message)
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const closed = closeSignal(response)
    const body = await readJsonBody(request)
    const headers = lowercasedHeaders(request)
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: request.url ?? "/",
      headers,
      body: body.ok ? body.value : body.text,
      receivedAt: Date.now(),
    }
    requests.push(recorded)
    const pathname = new URL(recorded.path, "http://stand-in.invalid").pathname
    if (recorded.method !== "POST" || pathname !== "/v1/messages")
      return sendAnthropicError(response, 404, `Not Found: ${recorded.method} ${pathname}`)
    const headerRefusal = checkHeaders(headers, options.apiKey)
    if (headerRefusal) return refuse(response, headerRefusal)
    if (!body.ok || !isRecord(body.value))
      return refuse(response, { status: 400, message: "invalid JSON body" })
    const bodyRefusal = checkBody(body.value, {
      signature: (thinking, signature) => signature === sign(thinking),
      redacted: (data) => redactedIssued.has(data),
    })
    if (bodyRefusal) return refuse(response, bodyRefusal)
    const step = steps.shift()
    if (step === undefined)
      return sendAnthropicError(
        response,
        500,
        `Scripted Anthropic: the script is exhausted (${added} steps used)`,
      )
    const reply = typeof step === "function" ? parseAnthropicReply(step(recorded), "a function step") : step
    if (reply.type === "error")
      return sendAnthropicError(response, reply.status, reply.message ?? "scripted error", reply.headers)
    const thinking = isRecord(body.value.thinking) && body.value.thinking.type === "enabled"
    if (thinking && reply.redactedThinking !== undefined) redactedIssued.add(reply.redactedThinking)
    const events = answerEvents(reply, {
      id: `msg_scripted_${++messageCount}`,
      model: String(body.value.model),
      thinking,
      sign,
      toolUseId: () => `toolu_${++toolUseCount}`,
    })
    if (body.value.stream !== true) return sendJson(response, 200, assembled(events))
    await streamEvents(response, events, closed)
  }

  const server = createServer((request, response) => {
    request.on("error", () => {})
    response.on("error", () => {})
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendAnthropicError(response, 500, `Scripted Anthropic: ${String(error)}`)
      else response.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("Scripted Anthropic: no TCP address")
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    refusals,
    push,
    remaining: () => steps.length,
    close,
    [Symbol.asyncDispose]: close,
  }
}
