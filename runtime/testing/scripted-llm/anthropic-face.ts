// The scripted server's Anthropic face: POST /v1/messages, checked as the real Messages API checks it (but for the
// thinking a tool-use turn must start with, which a script without reasoning has none of), the request
// recorded in Chat Completions shape (so scripts and their helpers read one shape), the scripted reply streamed as
// Anthropic's events. Tests that run the default provider (anthropic) through a script use it.
import type { ServerResponse } from "node:http"
import {
  answerEvents,
  assembled,
  sendAnthropicError,
  signThinking,
  streamEvents,
} from "../scripted-anthropic/anthropic-events.ts"
import { checkBody, checkHeaders } from "../scripted-anthropic/request-checks.ts"
import { sendJson, untilAborted } from "./http-exchange.ts"
import type { ScriptedReply } from "./scripted-reply.ts"

type Json = Record<string, unknown>
const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const blocks = (content: unknown): Json[] =>
  typeof content === "string"
    ? [{ type: "text", text: content }]
    : Array.isArray(content)
      ? content.filter(isRecord)
      : []
const texts = (content: unknown) =>
  blocks(content)
    .map((block) => (typeof block.text === "string" ? block.text : ""))
    .join("")

/** A Messages API request in Chat Completions shape: system, user, assistant (tool_calls) and tool messages. */
export function asChatRequest(body: Json): Json {
  const messages: Json[] = []
  const system = texts(body.system)
  if (system !== "") messages.push({ role: "system", content: system })
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    const content = blocks(message.content)
    if (message.role === "assistant") {
      const calls = content.filter((block) => block.type === "tool_use")
      messages.push({
        role: "assistant",
        content: texts(content.filter((block) => block.type === "text")),
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((call) => ({
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) },
              })),
            }
          : {}),
      })
      continue
    }
    for (const result of content.filter((block) => block.type === "tool_result"))
      messages.push({ role: "tool", tool_call_id: result.tool_use_id, content: texts(result.content) })
    const rest = content.filter((block) => block.type !== "tool_result")
    if (rest.length > 0) messages.push({ role: "user", content: rest.map((block) => ({ ...block })) })
  }
  const tools = Array.isArray(body.tools)
    ? body.tools.filter(isRecord).map((tool) => ({
        type: "function",
        function: { name: tool.name, description: tool.description, parameters: tool.input_schema },
      }))
    : undefined
  return { ...body, messages, ...(tools ? { tools } : {}) }
}

const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: "end_turn",
  tool_calls: "tool_use",
  length: "max_tokens",
}

export function createAnthropicFace(options: { apiKey?: string }) {
  const sign = signThinking
  let messageCount = 0
  let toolUseCount = 0
  return {
    /** Why the real API would refuse this request, if it would. */
    refusal(headers: Record<string, string>, body: unknown) {
      const refused = checkHeaders(headers, options.apiKey)
      if (refused) return refused
      if (!isRecord(body)) return { status: 400, message: "invalid JSON body" }
      return checkBody(body, {
        signature: (thinking, signature) => signature === sign(thinking),
        redacted: () => false,
        // A script's tool calls without reasoning come back without thinking: refusing them would fail the script.
        thinkingBeforeToolUse: false,
      })
    },
    refuse(response: ServerResponse, refusal: { status: number; message: string }) {
      sendAnthropicError(response, refusal.status, refusal.message)
    },
    async answer(reply: ScriptedReply, body: Json, response: ServerResponse, closed: AbortSignal) {
      if (reply.type === "error")
        return sendAnthropicError(response, reply.status, reply.message ?? "scripted error", reply.headers)
      if (reply.type === "reset") return void response.socket?.destroy()
      if (reply.type === "stall" || reply.type === "malformedChunk") {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write(
          `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: {} })}\n\n`,
        )
        if (reply.type === "malformedChunk")
          return void response.end("event: content_block_delta\ndata: {nope\n\n")
        return untilAborted(closed)
      }
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs))
      const usage = reply.usage ?? {}
      const cached = usage.cachedTokens ?? 0
      const events = answerEvents(
        {
          ...(reply.reasoning !== undefined ? { thinking: reply.reasoning } : {}),
          ...(reply.text !== undefined ? { text: reply.text } : {}),
          toolUses: (reply.toolCalls ?? []).map((call) => ({
            ...(call.id !== undefined ? { id: call.id } : {}),
            name: call.name,
            input:
              typeof call.arguments === "string"
                ? (JSON.parse(call.arguments || "{}") as Record<string, unknown>)
                : call.arguments,
          })),
          ...(reply.finishReason
            ? { stopReason: STOP_REASONS[reply.finishReason] ?? reply.finishReason }
            : {}),
          usage: {
            inputTokens: Math.max(0, (usage.promptTokens ?? 10) - cached),
            cacheReadInputTokens: cached,
            outputTokens: usage.completionTokens ?? 5,
          },
          ...(reply.chunkSize ? { chunkSize: reply.chunkSize } : {}),
        },
        {
          id: `msg_scripted_${++messageCount}`,
          model: String(body.model),
          thinking: isRecord(body.thinking) && body.thinking.type === "enabled",
          onlyScriptedThinking: true,
          sign,
          toolUseId: () => `toolu_${++toolUseCount}`,
        },
      )
      if (body.stream !== true) return sendJson(response, 200, assembled(events))
      await streamEvents(response, events, closed)
    },
  }
}
