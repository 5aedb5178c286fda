// What one scripted answer of the Anthropic stand-in looks like: a zod schema, so a step is parsed, never cast.
import { z } from "zod"

const count = z.number().int().nonnegative()

const toolUseSchema = z.strictObject({
  /** defaults to `toolu_<n>`, unique per server */
  id: z.string().min(1).optional(),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
})

const messageReplySchema = z.strictObject({
  type: z.literal("message").optional(),
  /** the thinking block's text, signed by the stand-in (with thinking on an answer has one, empty by default) */
  thinking: z.string().optional(),
  /** a redacted_thinking block's data, sent after the thinking (only with thinking on) */
  redactedThinking: z.string().optional(),
  text: z.string().optional(),
  toolUses: z.array(toolUseSchema).optional(),
  /** default: "tool_use" with tool uses, else "end_turn" */
  stopReason: z.string().min(1).optional(),
  usage: z
    .strictObject({
      inputTokens: count.optional(),
      outputTokens: count.optional(),
      cacheReadInputTokens: count.optional(),
      cacheCreationInputTokens: count.optional(),
    })
    .optional(),
  /** characters per delta (default 8) */
  chunkSize: z.number().int().positive().optional(),
})
export type AnthropicMessageReply = z.infer<typeof messageReplySchema>

const errorReplySchema = z.strictObject({
  type: z.literal("error"),
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
})

export const anthropicReplySchema = z.discriminatedUnion("type", [messageReplySchema, errorReplySchema])
export type AnthropicReply = z.infer<typeof anthropicReplySchema>

export function parseAnthropicReply(value: unknown, source: string): AnthropicReply {
  const result = anthropicReplySchema.safeParse(value)
  if (!result.success)
    throw new Error(`${source} is not a valid scripted reply:\n${z.prettifyError(result.error)}`)
  return result.data
}

/** Anthropic's error type for a status, as its error bodies name it. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 404) return "not_found_error"
  if (status === 413) return "request_too_large"
  if (status === 429) return "rate_limit_error"
  if (status === 529) return "overloaded_error"
  if (status >= 500) return "api_error"
  return "invalid_request_error"
}
