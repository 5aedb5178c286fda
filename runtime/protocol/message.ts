// Conversation messages and their parts, with the original's type names.
import { z } from "zod"

const id = z.string().min(1)
const mimeType = z.string().min(1)

export const textPartSchema = z.strictObject({ type: z.literal("textPart"), id, text: z.string() })
export const imageUrlPartSchema = z.strictObject({
  type: z.literal("imageUrlPart"),
  id,
  url: z.url(),
  mimeType,
})
export const imageInlinePartSchema = z.strictObject({
  type: z.literal("imageInlinePart"),
  id,
  /** base64 */
  encodedData: z.string(),
  mimeType,
})
export const imageBinaryPartSchema = z.strictObject({
  type: z.literal("imageBinaryPart"),
  id,
  /** base64: binary travels as text in NDJSON */
  data: z.string(),
  mimeType,
})
export const fileUrlPartSchema = z.strictObject({
  type: z.literal("fileUrlPart"),
  id,
  url: z.url(),
  mimeType,
})
export const fileInlinePartSchema = z.strictObject({
  type: z.literal("fileInlinePart"),
  id,
  encodedData: z.string(),
  mimeType,
})
export const fileBinaryPartSchema = z.strictObject({
  type: z.literal("fileBinaryPart"),
  id,
  data: z.string(),
  mimeType,
})
export const toolCallPartSchema = z.strictObject({
  type: z.literal("toolCallPart"),
  id,
  toolCallId: id,
  toolName: z.string().min(1),
  args: z.record(z.string(), z.unknown()),
})
export const thinkingPartSchema = z.strictObject({
  type: z.literal("thinkingPart"),
  id,
  thinking: z.string(),
  /** Anthropic's signature over the thinking, sent back with it verbatim on the next turn */
  signature: z.string().optional(),
  /** Anthropic's redacted_thinking block: opaque, encrypted, sent back verbatim (`thinking` is then empty) */
  redactedData: z.string().optional(),
})
export const toolResultContentSchema = z.discriminatedUnion("type", [
  textPartSchema,
  imageInlinePartSchema,
  fileInlinePartSchema,
])
export const toolResultPartSchema = z.strictObject({
  type: z.literal("toolResultPart"),
  id,
  toolCallId: id,
  toolName: z.string().min(1),
  contents: z.array(toolResultContentSchema),
  isError: z.boolean().optional(),
})

export const messagePartSchema = z.discriminatedUnion("type", [
  textPartSchema,
  imageUrlPartSchema,
  imageInlinePartSchema,
  imageBinaryPartSchema,
  fileUrlPartSchema,
  fileInlinePartSchema,
  fileBinaryPartSchema,
  toolCallPartSchema,
  thinkingPartSchema,
  toolResultPartSchema,
])

const messageBase = { id, cache: z.boolean().optional() }

export const instructionMessageSchema = z.strictObject({
  ...messageBase,
  type: z.literal("instructionMessage"),
  contents: z.array(textPartSchema),
})
export const userMessageSchema = z.strictObject({
  ...messageBase,
  type: z.literal("userMessage"),
  contents: z.array(
    z.discriminatedUnion("type", [
      textPartSchema,
      imageUrlPartSchema,
      imageInlinePartSchema,
      imageBinaryPartSchema,
      fileUrlPartSchema,
      fileInlinePartSchema,
      fileBinaryPartSchema,
    ]),
  ),
})
export const expertMessageSchema = z.strictObject({
  ...messageBase,
  type: z.literal("expertMessage"),
  contents: z.array(z.discriminatedUnion("type", [textPartSchema, toolCallPartSchema, thinkingPartSchema])),
})
export const toolMessageSchema = z.strictObject({
  ...messageBase,
  type: z.literal("toolMessage"),
  contents: z.array(toolResultPartSchema),
})
export const messageSchema = z.discriminatedUnion("type", [
  instructionMessageSchema,
  userMessageSchema,
  expertMessageSchema,
  toolMessageSchema,
])

export type TextPart = z.infer<typeof textPartSchema>
export type ToolCallPart = z.infer<typeof toolCallPartSchema>
export type ThinkingPart = z.infer<typeof thinkingPartSchema>
export type ToolResultPart = z.infer<typeof toolResultPartSchema>
export type ToolResultContent = z.infer<typeof toolResultContentSchema>
export type MessagePart = z.infer<typeof messagePartSchema>
export type InstructionMessage = z.infer<typeof instructionMessageSchema>
export type UserMessage = z.infer<typeof userMessageSchema>
export type ExpertMessage = z.infer<typeof expertMessageSchema>
export type ToolMessage = z.infer<typeof toolMessageSchema>
export type Message = z.infer<typeof messageSchema>
