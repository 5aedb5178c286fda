// The Messages API's answer as the real API streams it: the events of one scripted reply, sent as SSE (or folded
// into one Message), and its error bodies.
import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"
import { sendJson, writeWithBackpressure } from "../scripted-llm/http-exchange.ts"
import { type AnthropicMessageReply, anthropicErrorType } from "./anthropic-reply.ts"

type Json = Record<string, unknown>

/**
 * A thinking block's signature, as only the stand-ins make it: like the real API's, it verifies on any later request,
 * to any instance (a job continued against a new server sends its earlier thinking back), and a forged one does not.
 */
export function signThinking(thinking: string): string {
  return createHash("sha256").update("perstack-scripted-anthropic\0").update(thinking).digest("base64")
}

export function sendAnthropicError(
  response: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { type: "error", error: { type: anthropicErrorType(status), message } }, headers)
}

/** Writes the events as SSE, honouring backpressure; stops when the client goes away. */
export async function streamEvents(response: ServerResponse, events: readonly Json[], closed: AbortSignal) {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  for (const event of events) {
    if (closed.aborted) return
    const frame = `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`
    if (!(await writeWithBackpressure(response, frame))) return
  }
  response.end()
}

const pieces = (text: string, size: number): string[] => {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** The events of one answer, as the real API sends them (a ping after message_start). */
export function answerEvents(
  reply: AnthropicMessageReply,
  meta: {
    id: string
    model: string
    thinking: boolean
    /** a Chat Completions script's face: no thinking block where the script gave no reasoning */
    onlyScriptedThinking?: boolean
    sign(text: string): string
    toolUseId(): string
  },
): Json[] {
  const size = reply.chunkSize ?? 8
  const usage = reply.usage ?? {}
  const events: Json[] = [
    {
      type: "message_start",
      message: {
        id: meta.id,
        type: "message",
        role: "assistant",
        model: meta.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.inputTokens ?? 10,
          cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
          cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
          output_tokens: 1,
        },
      },
    },
    { type: "ping" },
  ]
  let index = 0
  const block = (start: Json, deltas: Json[]) => {
    events.push({ type: "content_block_start", index, content_block: start })
    for (const delta of deltas) events.push({ type: "content_block_delta", index, delta })
    events.push({ type: "content_block_stop", index })
    index++
  }
  // With thinking on, every answer starts with a thinking block, as the real API's do (empty when none was scripted,
  // unless `onlyScriptedThinking`).
  if (meta.thinking && (reply.thinking !== undefined || !meta.onlyScriptedThinking)) {
    const thinking = reply.thinking ?? ""
    block({ type: "thinking", thinking: "", signature: "" }, [
      ...pieces(thinking, size).map((piece) => ({ type: "thinking_delta", thinking: piece })),
      { type: "signature_delta", signature: meta.sign(thinking) },
    ])
  }
  if (meta.thinking && reply.redactedThinking !== undefined)
    block({ type: "redacted_thinking", data: reply.redactedThinking }, [])
  if (reply.text !== undefined)
    block(
      { type: "text", text: "" },
      pieces(reply.text, size).map((text) => ({ type: "text_delta", text })),
    )
  for (const use of reply.toolUses ?? []) {
    block(
      { type: "tool_use", id: use.id ?? meta.toolUseId(), name: use.name, input: {} },
      pieces(JSON.stringify(use.input), size).map((partial_json) => ({
        type: "input_json_delta",
        partial_json,
      })),
    )
  }
  events.push({
    type: "message_delta",
    delta: {
      stop_reason: reply.stopReason ?? (reply.toolUses?.length ? "tool_use" : "end_turn"),
      stop_sequence: null,
    },
    usage: { output_tokens: usage.outputTokens ?? 5 },
  })
  events.push({ type: "message_stop" })
  return events
}

/** The Message a non-streamed request gets: the stream's events folded together. */
export function assembled(events: readonly Json[]): Json {
  const start = events[0] as { message: Json & { usage: Json } }
  const content: Json[] = []
  const delta = events.find((event) => event.type === "message_delta") as { delta: Json; usage: Json }
  for (const event of events) {
    if (event.type === "content_block_start") content.push({ ...(event.content_block as Json) })
    if (event.type !== "content_block_delta") continue
    const block = content.at(-1) ?? {}
    const d = event.delta as Record<string, string>
    if (d.type === "text_delta") block.text = `${block.text ?? ""}${d.text}`
    if (d.type === "thinking_delta") block.thinking = `${block.thinking ?? ""}${d.thinking}`
    if (d.type === "signature_delta") block.signature = d.signature
    if (d.type === "input_json_delta") block.partial = `${block.partial ?? ""}${d.partial_json}`
  }
  for (const block of content) {
    if (block.type === "tool_use") {
      block.input = JSON.parse(String(block.partial ?? "{}"))
      delete block.partial
    }
  }
  return { ...start.message, content, ...delta.delta, usage: { ...start.message.usage, ...delta.usage } }
}
