// Reading one HTTP request body and writing answers back, honouring backpressure and a client that went away.
import type { IncomingMessage, ServerResponse } from "node:http"
import { openAiErrorBody } from "./openai-error-body.ts"

/** Far above any real prompt; it only stops a runaway client from filling memory. */
const MAX_BODY_BYTES = 64 * 1024 * 1024

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError"
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; text: string }

/** Reads the whole body (bytes first, decoded once, so multibyte characters never straddle chunks). */
export async function readJsonBody(request: IncomingMessage): Promise<ParsedBody> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += bytes.length
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(bytes)
  }
  const text = Buffer.concat(chunks).toString("utf8")
  if (text.trim() === "") return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, text }
  }
}

/** An AbortSignal that fires when the response is finished or its connection closes, whichever comes first. */
export function closeSignal(response: ServerResponse): AbortSignal {
  const controller = new AbortController()
  if (response.destroyed) controller.abort()
  else response.once("close", () => controller.abort())
  return controller.signal
}

export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener("abort", () => resolve(), { once: true })
  })
}

function isWritable(response: ServerResponse): boolean {
  return !response.destroyed && !response.writableEnded
}

/** Writes and waits for `drain` when the socket buffer is full; false once the client is gone. */
export function writeWithBackpressure(response: ServerResponse, data: string): Promise<boolean> {
  if (!isWritable(response)) return Promise.resolve(false)
  if (response.write(data)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const settle = (drained: boolean) => () => {
      response.off("drain", onDrain)
      response.off("close", onClose)
      resolve(drained && isWritable(response))
    }
    const onDrain = settle(true)
    const onClose = settle(false)
    response.once("drain", onDrain)
    response.once("close", onClose)
  })
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (!isWritable(response) || response.headersSent) return
  response.writeHead(status, { ...headers, "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

export function sendError(
  response: ServerResponse,
  options: { status: number; message?: string; headers?: Record<string, string> },
): void {
  sendJson(response, options.status, openAiErrorBody(options.status, options.message), options.headers)
}

/** Starts a Server-Sent Events answer and sends the headers at once, so the client's request resolves. */
export function startEventStream(response: ServerResponse): boolean {
  if (!isWritable(response) || response.headersSent) return false
  response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
  response.flushHeaders()
  return true
}

export function writeEvent(response: ServerResponse, data: string): Promise<boolean> {
  return writeWithBackpressure(response, `data: ${data}\n\n`)
}
