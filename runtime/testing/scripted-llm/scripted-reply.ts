// What one scripted answer of the fake LLM looks like: a zod schema, so script files are parsed, never cast.
import { z } from "zod"

const count = z.number().int().nonnegative()

export const scriptedToolCallSchema = z.strictObject({
  /** defaults to `call_<n>`, unique per server */
  id: z.string().min(1).optional(),
  name: z.string().min(1),
  /** a string is sent verbatim, which lets a test send arguments that are not valid JSON */
  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]),
})
export type ScriptedToolCall = z.infer<typeof scriptedToolCallSchema>

const messageReplySchema = z.strictObject({
  type: z.literal("message").optional(),
  text: z.string().optional(),
  /** sent as DeepSeek-style `reasoning_content` */
  reasoning: z.string().optional(),
  toolCalls: z.array(scriptedToolCallSchema).optional(),
  /** default: "tool_calls" when toolCalls are present, else "stop" */
  finishReason: z.string().min(1).optional(),
  usage: z
    .strictObject({
      promptTokens: count.optional(),
      completionTokens: count.optional(),
      cachedTokens: count.optional(),
      reasoningTokens: count.optional(),
    })
    .optional(),
  /** streaming: characters per delta for text, reasoning and each tool call's arguments (default 8) */
  chunkSize: z.number().int().positive().optional(),
  /** wait this long before answering */
  delayMs: count.optional(),
})
export type MessageReply = z.infer<typeof messageReplySchema>

const errorReplySchema = z.strictObject({
  type: z.literal("error"),
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
})

/** Good chunks sent before the failure: the role chunk, then deltas of `text` (default: `afterChunks - 1` deltas of "partial "). */
const partialStreamFields = {
  afterChunks: count.optional(),
  text: z.string().optional(),
}

const stallReplySchema = z.strictObject({ type: z.literal("stall"), ...partialStreamFields })
const malformedChunkReplySchema = z.strictObject({
  type: z.literal("malformedChunk"),
  ...partialStreamFields,
})
export type PartialStreamReply = z.infer<typeof stallReplySchema> | z.infer<typeof malformedChunkReplySchema>

const resetReplySchema = z.strictObject({ type: z.literal("reset") })

export const scriptedReplySchema = z.discriminatedUnion("type", [
  messageReplySchema,
  errorReplySchema,
  stallReplySchema,
  malformedChunkReplySchema,
  resetReplySchema,
])
export type ScriptedReply = z.infer<typeof scriptedReplySchema>

/** Parses one reply; the error names where it came from and the key path that is wrong. */
export function parseScriptedReply(value: unknown, source: string): ScriptedReply {
  const result = scriptedReplySchema.safeParse(value)
  if (!result.success) {
    throw new Error(`${source} is not a valid scripted reply:\n${z.prettifyError(result.error)}`)
  }
  return result.data
}
