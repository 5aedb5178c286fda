// Turns a scripted message reply into the exact Chat Completions wire objects: stream chunks or one completion.
import type { MessageReply } from "./scripted-reply.ts"

const SYSTEM_FINGERPRINT = "fp_scripted"
const DEFAULT_CHUNK_SIZE = 8

/** The fields every chunk and completion of one answer share. */
export interface CompletionMeta {
  id: string
  created: number
  model: string
}

interface ResolvedToolCall {
  id: string
  name: string
  arguments: string
}

/** A message reply with every default filled in, so the stream and the usage agree. */
export interface ResolvedReply {
  text: string | undefined
  reasoning: string | undefined
  toolCalls: ResolvedToolCall[]
  finishReason: string
  usage: WireUsage
  chunkSize: number
}

export interface WireUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number }
  completion_tokens_details: {
    reasoning_tokens: number
    audio_tokens: number
    accepted_prediction_tokens: number
    rejected_prediction_tokens: number
  }
}

/** Roughly four characters a token: plausible numbers without a tokenizer. */
function estimateTokens(characters: number): number {
  return Math.max(1, Math.ceil(characters / 4))
}

export function resolveReply(
  reply: MessageReply,
  options: { promptCharacters: number; nextToolCallId: () => string },
): ResolvedReply {
  const toolCalls = (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? options.nextToolCallId(),
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
  }))
  const reasoningCharacters = reply.reasoning?.length ?? 0
  const outputCharacters =
    (reply.text?.length ?? 0) +
    reasoningCharacters +
    toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0)
  const promptTokens = reply.usage?.promptTokens ?? estimateTokens(options.promptCharacters)
  const completionTokens = reply.usage?.completionTokens ?? estimateTokens(outputCharacters)
  const reasoningTokens =
    reply.usage?.reasoningTokens ?? (reply.reasoning ? estimateTokens(reasoningCharacters) : 0)
  return {
    text: reply.text,
    reasoning: reply.reasoning,
    toolCalls,
    finishReason: reply.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
    chunkSize: reply.chunkSize ?? DEFAULT_CHUNK_SIZE,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: reply.usage?.cachedTokens ?? 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  }
}

/** Splits on code points, not UTF-16 units, so no delta carries half a surrogate pair. */
function pieces(text: string, size: number): string[] {
  const codePoints = Array.from(text)
  const result: string[] = []
  for (let start = 0; start < codePoints.length; start += size) {
    result.push(codePoints.slice(start, start + size).join(""))
  }
  return result
}

function chunk(
  meta: CompletionMeta,
  includeUsage: boolean,
  delta: object,
  finishReason: string | null = null,
) {
  return {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    // OpenAI sends `usage: null` on every chunk but the last when usage was asked for
    ...(includeUsage ? { usage: null } : {}),
  }
}

/** The chunks of a streamed answer, in order, lazily: the role, reasoning, text, tool calls, finish, usage. */
export function* streamChunks(
  reply: ResolvedReply,
  meta: CompletionMeta,
  includeUsage: boolean,
): Generator<object> {
  yield chunk(meta, includeUsage, { role: "assistant", content: reply.text === undefined ? null : "" })
  for (const piece of pieces(reply.reasoning ?? "", reply.chunkSize)) {
    yield chunk(meta, includeUsage, { reasoning_content: piece })
  }
  for (const piece of pieces(reply.text ?? "", reply.chunkSize)) {
    yield chunk(meta, includeUsage, { content: piece })
  }
  for (const [index, call] of reply.toolCalls.entries()) {
    const opening = { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }
    yield chunk(meta, includeUsage, { tool_calls: [opening] })
    for (const piece of pieces(call.arguments, reply.chunkSize)) {
      yield chunk(meta, includeUsage, { tool_calls: [{ index, function: { arguments: piece } }] })
    }
  }
  yield chunk(meta, includeUsage, {}, reply.finishReason)
  if (includeUsage) {
    const { id, created, model } = meta
    const object = "chat.completion.chunk"
    yield {
      id,
      object,
      created,
      model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: [],
      usage: reply.usage,
    }
  }
}

/** What a stall or a broken stream sends first: the role chunk and deltas of `text`, at most `count` chunks in all. */
export function partialStreamChunks(
  options: { text: string | undefined; count: number },
  meta: CompletionMeta,
  includeUsage: boolean,
): object[] {
  const text = options.text ?? "partial ".repeat(Math.max(0, options.count - 1))
  const deltas = [
    { role: "assistant", content: "" },
    ...pieces(text, DEFAULT_CHUNK_SIZE).map((content) => ({ content })),
  ]
  return deltas.slice(0, options.count).map((delta) => chunk(meta, includeUsage, delta))
}

/** The non-streaming answer: one `chat.completion` object with usage. */
export function completionObject(reply: ResolvedReply, meta: CompletionMeta): object {
  const message = {
    role: "assistant",
    content: reply.text ?? (reply.toolCalls.length > 0 ? null : ""),
    refusal: null,
    annotations: [],
    ...(reply.reasoning === undefined ? {} : { reasoning_content: reply.reasoning }),
    ...(reply.toolCalls.length === 0
      ? {}
      : {
          tool_calls: reply.toolCalls.map((call) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: call.arguments },
          })),
        }),
  }
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    service_tier: "default",
    choices: [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
    usage: reply.usage,
  }
}
