// A scripted OpenAI-compatible Chat Completions server on loopback, so tests drive the real `openai` client over real HTTP
// (and, through its Anthropic face, POST /v1/messages, the anthropic provider's @anthropic-ai/sdk).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { answerChatCompletion, chatRequestShape } from "./answer-chat-completion.ts"
import { asChatRequest, createAnthropicFace } from "./anthropic-face.ts"
import { BodyTooLargeError, closeSignal, readJsonBody, sendError, sendJson } from "./http-exchange.ts"
import { scriptExhaustedMessage } from "./script-exhausted-message.ts"
import { parseScriptedReply, type ScriptedReply } from "./scripted-reply.ts"

export type { ScriptedReply, ScriptedToolCall } from "./scripted-reply.ts"

export type ScriptedStep =
  | ScriptedReply
  | ((request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>)

export interface RecordedRequest {
  method: string
  /** the path with its query string, as received */
  path: string
  /** names lowercased; repeated headers joined with ", " */
  headers: Record<string, string>
  /** the parsed JSON body; the raw text when it was not JSON; undefined when empty */
  body: unknown
  /** a Messages API request (POST /v1/messages) as it came; `body` has it in Chat Completions shape */
  anthropicBody?: unknown
  receivedAt: number
}

export interface ScriptedLlmServer {
  /** base URL to give the openai client, e.g. "http://127.0.0.1:PORT/v1" */
  readonly url: string
  /** every request received, in order (chat completions and others) */
  readonly requests: readonly RecordedRequest[]
  /** appends to the script */
  push(...steps: ScriptedStep[]): void
  /** steps not yet consumed */
  remaining(): number
  /** stops listening and destroys open sockets, stalled streams included */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface ScriptedLlmServerOptions {
  steps?: ScriptedStep[]
  /** default 127.0.0.1 */
  host?: string
  /** default 0: any free port */
  port?: number
  /** when set, a request whose Authorization is not `Bearer <apiKey>` gets 401 (and consumes no step) */
  apiKey?: string
  /** the clock behind `receivedAt` and `created`; default Date.now */
  now?: () => number
  /** the model `GET /v1/models` lists; default "scripted-model" */
  modelId?: string
  /** false: a provider that reports no usage at all (none in a stream, whatever it asked for, nor in a completion) */
  reportsUsage?: boolean
}

/** Function steps are checked when they run, plain ones when they are added: a bad step fails where it was written. */
function checkStep(step: ScriptedStep, index: number): ScriptedStep {
  return typeof step === "function" ? step : parseScriptedReply(step, `scripted step ${index}`)
}

function lowercasedHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export async function startScriptedLlmServer(
  options: ScriptedLlmServerOptions = {},
): Promise<ScriptedLlmServer> {
  const now = options.now ?? Date.now
  const modelId = options.modelId ?? "scripted-model"
  const requests: RecordedRequest[] = []
  const anthropic = createAnthropicFace(options.apiKey !== undefined ? { apiKey: options.apiKey } : {})
  const steps: ScriptedStep[] = []
  let stepsAdded = 0
  let stepsConsumed = 0
  let requestCount = 0
  let completionCount = 0
  let toolCallCount = 0

  const push = (...added: ScriptedStep[]): void => {
    for (const step of added) steps.push(checkStep(step, stepsAdded++))
  }
  push(...(options.steps ?? []))

  async function runStep(step: ScriptedStep, recorded: RecordedRequest): Promise<ScriptedReply> {
    if (typeof step !== "function") return step
    try {
      return parseScriptedReply(await step(recorded), `the reply of function step ${stepsConsumed - 1}`)
    } catch (error) {
      return {
        type: "error",
        status: 500,
        message: `Scripted LLM: function step failed: ${errorText(error)}`,
      }
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const closed = closeSignal(response)
    const method = request.method ?? "GET"
    const path = request.url ?? "/"
    response.setHeader("x-request-id", `req_scripted_${++requestCount}`)
    const body = await readJsonBody(request)
    const recorded: RecordedRequest = {
      method,
      path,
      headers: lowercasedHeaders(request),
      body: body.ok ? body.value : body.text,
      receivedAt: now(),
    }
    requests.push(recorded)

    if (method === "POST" && new URL(path, "http://scripted.invalid").pathname === "/v1/messages") {
      const sent = body.ok ? body.value : undefined
      const refusal = anthropic.refusal(recorded.headers, sent)
      if (refusal || !isRecord(sent))
        return anthropic.refuse(response, refusal ?? { status: 400, message: "" })
      recorded.anthropicBody = sent
      recorded.body = asChatRequest(sent)
      const step = steps.shift()
      if (step === undefined) {
        const message = scriptExhaustedMessage({ consumed: stepsConsumed, body: recorded.body })
        return anthropic.refuse(response, { status: 500, message })
      }
      stepsConsumed++
      return anthropic.answer(await runStep(step, recorded), sent, response, closed)
    }
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(response, { status: 401, message: "Scripted LLM: incorrect API key provided" })
    }
    if (!body.ok) {
      return sendError(response, { status: 400, message: "Scripted LLM: the request body is not valid JSON" })
    }
    const pathname = new URL(path, "http://scripted.invalid").pathname
    const route = `${method} ${pathname}`
    if (route === "GET /v1/models") {
      const model = { id: modelId, object: "model", created: 0, owned_by: "perstack-scripted-llm" }
      return sendJson(response, 200, { object: "list", data: [model] })
    }
    // Any prefix: Azure's `/openai/v1/...` and `/openai/deployments/<name>/...` are chat completions too.
    if (method !== "POST" || !pathname.endsWith("/chat/completions")) {
      return sendError(response, { status: 404, message: `Scripted LLM: no route for ${method} ${path}` })
    }
    if (!isRecord(body.value)) {
      return sendError(response, {
        status: 400,
        message: "Scripted LLM: the request body must be a JSON object",
      })
    }
    const step = steps.shift()
    if (step === undefined) {
      const message = scriptExhaustedMessage({ consumed: stepsConsumed, body: body.value })
      return sendError(response, { status: 500, message })
    }
    stepsConsumed++
    const reply = await runStep(step, recorded)
    await answerChatCompletion(reply, {
      request,
      response,
      closed,
      shape: {
        ...chatRequestShape(body.value),
        ...(options.reportsUsage === false ? { includeUsage: false, reportsUsage: false } : {}),
      },
      meta: {
        id: `chatcmpl-scripted-${++completionCount}`,
        created: Math.floor(now() / 1000),
        model: typeof body.value.model === "string" ? body.value.model : modelId,
      },
      nextToolCallId: () => `call_${++toolCallCount}`,
    })
  }

  /** Never lets a failure escape: the process must survive whatever a client or a step does. */
  function fail(response: ServerResponse, error: unknown): void {
    if (response.destroyed) return
    if (response.headersSent) {
      response.destroy()
      return
    }
    if (error instanceof BodyTooLargeError) {
      sendError(response, { status: 413, message: `Scripted LLM: ${error.message}` })
      response.once("finish", () => response.destroy())
      return
    }
    sendError(response, { status: 500, message: `Scripted LLM: internal error: ${errorText(error)}` })
  }

  const server = createServer((request, response) => {
    request.on("error", () => {})
    response.on("error", () => {})
    handle(request, response).catch((error: unknown) => fail(response, error))
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === "string") {
    throw new Error("Scripted LLM: the server has no TCP address")
  }
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}/v1`

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      // Stalled streams and idle keep-alive sockets would otherwise hold close() open forever.
      server.closeAllConnections()
    })
    return closing
  }

  return {
    url,
    requests,
    push,
    remaining: () => steps.length,
    close,
    [Symbol.asyncDispose]: close,
  }
}
