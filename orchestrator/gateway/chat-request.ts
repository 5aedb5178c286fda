// A chat request as the gateway forwards it: read whole (capped), parsed, and a streamed one made to report its usage.

import type { IncomingMessage } from "node:http"
import type { ErrorCode } from "../../runtime/errors/error-codes.ts"

/** A conversation with its tool results is large, but not this large. */
export const MAX_CHAT_REQUEST_BYTES = 64 * 1024 * 1024

export interface ChatRequest {
  /** what goes to the provider */
  body: Buffer
  /** the request's size as the sandbox sent it: the prompt, for an estimate of its tokens */
  sentBytes: number
}

export interface Refusal {
  status: number
  code: ErrorCode
  message: string
}

const refusal = (status: number, code: ErrorCode, message: string): Refusal => ({ status, code, message })

/**
 * The body to forward, or why the gateway will not: only what it can read can be counted. A streamed OpenAI request
 * gets `stream_options.include_usage`, so the provider reports what it generated whether the sandbox asked or not.
 */
export async function readChatRequest(
  request: IncomingMessage,
  how: { wire: "openai" | "anthropic" } = { wire: "openai" },
): Promise<ChatRequest | Refusal> {
  const encoding = request.headers["content-encoding"]
  if (encoding !== undefined && encoding !== "identity") {
    request.resume()
    return refusal(
      415,
      "gateway.badRequest",
      `the gateway takes uncompressed JSON, not content-encoding ${encoding}`,
    )
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_CHAT_REQUEST_BYTES) {
      request.resume()
      return refusal(413, "gateway.tooLarge", `a chat request is at most ${MAX_CHAT_REQUEST_BYTES} bytes`)
    }
    chunks.push(chunk)
  }
  const sent = Buffer.concat(chunks, size)
  let parsed: unknown
  try {
    parsed = JSON.parse(sent.toString("utf8"))
  } catch {
    return refusal(400, "gateway.badRequest", "the gateway forwards JSON chat requests only")
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return refusal(400, "gateway.badRequest", "a chat request is a JSON object")
  }
  const chat = parsed as { stream?: unknown; stream_options?: unknown }
  // Anthropic reports usage in every stream (and refuses stream_options): its request goes as it came.
  if (chat.stream !== true || how.wire === "anthropic") return { body: sent, sentBytes: size }
  const options =
    typeof chat.stream_options === "object" && chat.stream_options !== null ? chat.stream_options : {}
  if ((options as { include_usage?: unknown }).include_usage === true) return { body: sent, sentBytes: size }
  const body = Buffer.from(JSON.stringify({ ...chat, stream_options: { ...options, include_usage: true } }))
  return { body, sentBytes: size }
}
