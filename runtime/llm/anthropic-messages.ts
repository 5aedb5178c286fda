// Converts our conversation into an Anthropic Messages API request: system blocks, tools, turns, and the prompt
// cache's breakpoints (Anthropic caches only what a `cache_control` marks; its OpenAI-compatible endpoint drops them).
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolResultBlockParam,
} from "@anthropic-ai/sdk/resources/messages/messages"
import type { Message, ToolResultContent } from "../protocol/message.ts"
import type { LlmTool } from "./generate.ts"

/** Anthropic refuses a request with more than this many `cache_control` breakpoints. */
export const MAX_CACHE_BREAKPOINTS = 4

const EPHEMERAL = { type: "ephemeral" } as const

export interface AnthropicPrompt {
  system: TextBlockParam[]
  messages: MessageParam[]
  tools: Tool[]
  /**
   * The tool uses the last turn answers came without a signed thinking block (another provider's, or a turn made
   * with thinking off): Anthropic refuses such a request with thinking on, so it goes without.
   */
  unsignedToolTurn: boolean
}

type UserContent = Extract<Message, { type: "userMessage" }>["contents"][number]

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

function image(mimeType: string, data: string): ImageBlockParam | TextBlockParam {
  if (!IMAGE_TYPES.has(mimeType)) return { type: "text", text: `(an image of type ${mimeType}, not shown)` }
  return {
    type: "image",
    source: { type: "base64", media_type: mimeType as "image/png", data },
  }
}

/** PDFs and plain text go as documents; other files cannot be read by the model and are named instead. */
function file(mimeType: string, base64: string): ContentBlockParam {
  if (mimeType === "application/pdf")
    return { type: "document", source: { type: "base64", media_type: "application/pdf", data: base64 } }
  if (mimeType.startsWith("text/"))
    return {
      type: "document",
      source: {
        type: "text",
        media_type: "text/plain",
        data: Buffer.from(base64, "base64").toString("utf8"),
      },
    }
  return { type: "text", text: `(a file of type ${mimeType}, not shown)` }
}

function userBlock(part: UserContent): ContentBlockParam {
  switch (part.type) {
    case "textPart":
      return { type: "text", text: part.text }
    case "imageUrlPart":
      return { type: "image", source: { type: "url", url: part.url } }
    case "imageInlinePart":
      return image(part.mimeType, part.encodedData)
    case "imageBinaryPart":
      return image(part.mimeType, part.data)
    case "fileInlinePart":
      return file(part.mimeType, part.encodedData)
    case "fileBinaryPart":
      return file(part.mimeType, part.data)
    case "fileUrlPart":
      return part.mimeType === "application/pdf"
        ? { type: "document", source: { type: "url", url: part.url } }
        : { type: "text", text: `(file at ${part.url}, ${part.mimeType})` }
  }
}

function toolResultBlock(
  content: ToolResultContent,
): Exclude<ToolResultBlockParam["content"], string | undefined>[number] {
  switch (content.type) {
    case "textPart":
      return { type: "text", text: content.text }
    case "imageInlinePart":
      return image(content.mimeType, content.encodedData)
    case "fileInlinePart": {
      const block = file(content.mimeType, content.encodedData)
      return block.type === "document" || block.type === "text" ? block : { type: "text", text: "(a file)" }
    }
  }
}

/** Anthropic refuses empty text blocks. */
const nonEmpty = (block: ContentBlockParam) => block.type !== "text" || block.text !== ""

function assistantBlocks(message: Extract<Message, { type: "expertMessage" }>): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = []
  for (const part of message.contents) {
    if (part.type === "thinkingPart") {
      // Sent back verbatim with its signature; thinking without one (another provider's) cannot be verified.
      if (part.redactedData !== undefined) blocks.push({ type: "redacted_thinking", data: part.redactedData })
      else if (part.signature !== undefined)
        blocks.push({ type: "thinking", thinking: part.thinking, signature: part.signature })
    } else if (part.type === "textPart") {
      blocks.push({ type: "text", text: part.text })
    } else {
      blocks.push({ type: "tool_use", id: part.toolCallId, name: part.toolName, input: part.args })
    }
  }
  return blocks.filter(nonEmpty)
}

function turn(message: Message): MessageParam | undefined {
  switch (message.type) {
    case "instructionMessage":
      return undefined
    case "userMessage":
      return { role: "user", content: message.contents.map(userBlock).filter(nonEmpty) }
    case "expertMessage":
      return { role: "assistant", content: assistantBlocks(message) }
    case "toolMessage":
      return {
        role: "user",
        content: message.contents.map((part) => ({
          type: "tool_result" as const,
          tool_use_id: part.toolCallId,
          content: part.contents
            .map(toolResultBlock)
            .filter((block) => block.type !== "text" || block.text !== ""),
          ...(part.isError ? { is_error: true } : {}),
        })),
      }
  }
}

/** Consecutive turns of one role become one (tool results first, as Anthropic wants them). */
function mergeTurns(turns: readonly MessageParam[]): MessageParam[] {
  const merged: Array<{ role: "user" | "assistant"; content: ContentBlockParam[] }> = []
  for (const next of turns) {
    const content =
      typeof next.content === "string" ? [{ type: "text" as const, text: next.content }] : next.content
    if (content.length === 0) continue
    const last = merged.at(-1)
    const role = next.role === "assistant" ? "assistant" : "user"
    if (last && last.role === role) last.content.push(...content)
    else merged.push({ role, content: [...content] })
  }
  return merged
}

/** Marks a turn's last block that may carry a breakpoint (thinking blocks may not); false when it has none. */
function markTurn(turn: MessageParam | undefined): boolean {
  if (!turn || typeof turn.content === "string") return false
  for (let i = turn.content.length - 1; i >= 0; i--) {
    const block = turn.content[i]
    if (!block || block.type === "thinking" || block.type === "redacted_thinking") continue
    turn.content[i] = { ...block, cache_control: EPHEMERAL } as ContentBlockParam
    return true
  }
  return false
}

/**
 * The request's system, turns and tools, with up to four breakpoints: the system prompt, the last tool, the last
 * turn (the whole conversation so far, which the next request starts with), and the last user turn before the
 * model's latest answer, where the previous request put its own (so that request's cache entry is read even when
 * more than 20 blocks came after it, beyond the lookback Anthropic does by itself).
 */
export function toAnthropicPrompt(messages: readonly Message[], tools: readonly LlmTool[]): AnthropicPrompt {
  const system: TextBlockParam[] = messages
    .flatMap((message) => (message.type === "instructionMessage" ? message.contents : []))
    .filter((part) => part.text !== "")
    .map((part) => ({ type: "text", text: part.text }))
  const turns = mergeTurns(messages.flatMap((message) => turn(message) ?? []))
  const anthropicTools: Tool[] = tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: { type: "object", ...tool.parameters } as Tool["input_schema"],
  }))
  let breakpoints = 0
  const lastSystem = system.at(-1)
  if (lastSystem) {
    system[system.length - 1] = { ...lastSystem, cache_control: EPHEMERAL }
    breakpoints++
  }
  const lastTool = anthropicTools.at(-1)
  if (lastTool) {
    anthropicTools[anthropicTools.length - 1] = { ...lastTool, cache_control: EPHEMERAL }
    breakpoints++
  }
  if (markTurn(turns.at(-1))) breakpoints++
  const lastAnswer = turns.findLastIndex((t) => t.role === "assistant")
  const previousEnd = lastAnswer > 0 ? lastAnswer - 1 : -1
  if (breakpoints < MAX_CACHE_BREAKPOINTS && previousEnd >= 0 && previousEnd !== turns.length - 1)
    markTurn(turns[previousEnd])
  const answered = turns.at(-2)
  const answeredBlocks = typeof answered?.content === "object" ? answered.content : []
  const first = answeredBlocks[0]
  const unsignedToolTurn =
    answered?.role === "assistant" &&
    answeredBlocks.some((block) => block.type === "tool_use") &&
    first?.type !== "thinking" &&
    first?.type !== "redacted_thinking"
  return { system, messages: turns, tools: anthropicTools, unsignedToolTurn }
}
