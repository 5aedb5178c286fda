// Plays one scripted reply to one chat completion request: a message (streamed or not), an error, a stall, a broken stream or a reset.
import type { IncomingMessage, ServerResponse } from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import {
  type CompletionMeta,
  completionObject,
  partialStreamChunks,
  resolveReply,
  streamChunks,
} from "./chat-completion-format.ts"
import { sendError, sendJson, startEventStream, untilAborted, writeEvent } from "./http-exchange.ts"
import type { MessageReply, PartialStreamReply, ScriptedReply } from "./scripted-reply.ts"

/** What the request asked for that shapes the answer. */
export interface ChatRequestShape {
  stream: boolean
  includeUsage: boolean
  promptCharacters: number
  /** false when the server plays a provider that reports no usage, even in a completion */
  reportsUsage?: boolean
}

export function chatRequestShape(body: Record<string, unknown>): ChatRequestShape {
  const streamOptions = body.stream_options
  const includeUsage =
    typeof streamOptions === "object" &&
    streamOptions !== null &&
    "include_usage" in streamOptions &&
    streamOptions.include_usage === true
  return {
    stream: body.stream === true,
    includeUsage,
    promptCharacters: JSON.stringify(body.messages ?? []).length,
  }
}

export interface AnswerContext {
  request: IncomingMessage
  response: ServerResponse
  /** fires when the client goes away or the server closes */
  closed: AbortSignal
  shape: ChatRequestShape
  meta: CompletionMeta
  nextToolCallId: () => string
}

export async function answerChatCompletion(reply: ScriptedReply, context: AnswerContext): Promise<void> {
  switch (reply.type) {
    case "error":
      sendError(context.response, reply)
      return
    case "reset":
      // An RST, not a FIN: the client sees a connection reset with no response at all.
      context.request.socket.resetAndDestroy()
      return
    case "stall":
      await stall(reply, context)
      return
    case "malformedChunk":
      await sendMalformed(reply, context)
      return
    case undefined:
    case "message":
      await sendMessage(reply, context)
      return
  }
}

async function stall(reply: PartialStreamReply, context: AnswerContext): Promise<void> {
  if (context.shape.stream && startEventStream(context.response)) {
    for (const chunk of partialChunks(reply, context)) {
      if (!(await writeEvent(context.response, JSON.stringify(chunk)))) return
    }
  }
  // Hold the connection open until the client gives up or the server is closed.
  await untilAborted(context.closed)
}

async function sendMalformed(reply: PartialStreamReply, context: AnswerContext): Promise<void> {
  const { response } = context
  if (!context.shape.stream) {
    if (response.headersSent || response.destroyed) return
    response.writeHead(200, { "content-type": "application/json" })
    response.end("{not json")
    return
  }
  if (!startEventStream(response)) return
  for (const chunk of partialChunks(reply, context)) {
    if (!(await writeEvent(response, JSON.stringify(chunk)))) return
  }
  if (await writeEvent(response, "{not json")) response.end()
}

function partialChunks(reply: PartialStreamReply, context: AnswerContext): object[] {
  const count = reply.afterChunks ?? 0
  return partialStreamChunks({ text: reply.text, count }, context.meta, context.shape.includeUsage)
}

async function sendMessage(reply: MessageReply, context: AnswerContext): Promise<void> {
  const { response, shape } = context
  if (reply.delayMs) {
    const waited = await sleep(reply.delayMs, true, { signal: context.closed }).catch(() => false)
    if (!waited) return
  }
  const resolved = resolveReply(reply, {
    promptCharacters: shape.promptCharacters,
    nextToolCallId: context.nextToolCallId,
  })
  if (!shape.stream) {
    const completion = completionObject(resolved, context.meta)
    // JSON drops an undefined key: no usage at all, as such a provider answers.
    sendJson(response, 200, shape.reportsUsage === false ? { ...completion, usage: undefined } : completion)
    return
  }
  if (!startEventStream(response)) return
  for (const chunk of streamChunks(resolved, context.meta, shape.includeUsage)) {
    if (!(await writeEvent(response, JSON.stringify(chunk)))) return
  }
  if (await writeEvent(response, "[DONE]")) response.end()
}
