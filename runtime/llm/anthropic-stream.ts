// Reads an Anthropic Messages API event stream into a Generation: text, thinking blocks with their signatures, tool
// calls, the stop reason in the loop's (OpenAI's) words, and usage with the prompt cache's reads.
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages/messages"
import { anthropicUsage, type WireUsage } from "./anthropic-usage.ts"
import type { GeneratedThinking, Generation, GenerationObserver } from "./generate.ts"
import { ProviderError } from "./provider-error.ts"

/** Anthropic's stop reasons, as the loop knows them from the OpenAI path (anything else is kept as it came). */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  refusal: "content_filter",
}

type Block =
  | { kind: "text"; text: string }
  | { kind: "thinking"; thinking: GeneratedThinking }
  | { kind: "toolUse"; id: string; name: string; arguments: string }
  | { kind: "other" }

export async function readAnthropicStream(
  stream: AsyncIterable<RawMessageStreamEvent>,
  observer?: GenerationObserver,
): Promise<Generation> {
  const blocks = new Map<number, Block>()
  let wireUsage: WireUsage = {}
  let stopReason: string | undefined
  let stopped = false
  for await (const event of stream) {
    switch (event.type) {
      case "message_start":
        wireUsage = { ...event.message.usage }
        break
      case "content_block_start": {
        const block = event.content_block
        if (block.type === "text") blocks.set(event.index, { kind: "text", text: block.text })
        else if (block.type === "thinking")
          blocks.set(event.index, {
            kind: "thinking",
            // The signature comes in a signature_delta; a block without one cannot be sent back.
            thinking: {
              thinking: block.thinking,
              ...(block.signature ? { signature: block.signature } : {}),
            },
          })
        else if (block.type === "redacted_thinking")
          blocks.set(event.index, { kind: "thinking", thinking: { thinking: "", redactedData: block.data } })
        else if (block.type === "tool_use")
          blocks.set(event.index, { kind: "toolUse", id: block.id, name: block.name, arguments: "" })
        else blocks.set(event.index, { kind: "other" })
        if (block.type === "text" && block.text) observer?.onTextDelta?.(block.text)
        break
      }
      case "content_block_delta": {
        const block = blocks.get(event.index)
        const delta = event.delta
        if (delta.type === "text_delta" && block?.kind === "text") {
          block.text += delta.text
          observer?.onTextDelta?.(delta.text)
        } else if (delta.type === "thinking_delta" && block?.kind === "thinking") {
          block.thinking.thinking += delta.thinking
          observer?.onReasoningDelta?.(delta.thinking)
        } else if (delta.type === "signature_delta" && block?.kind === "thinking") {
          block.thinking.signature = delta.signature
        } else if (delta.type === "input_json_delta" && block?.kind === "toolUse") {
          block.arguments += delta.partial_json
        }
        break
      }
      case "message_delta":
        if (event.delta.stop_reason) stopReason = event.delta.stop_reason
        // Cumulative: a field given here replaces message_start's.
        for (const [key, value] of Object.entries(event.usage)) {
          if (typeof value === "number") (wireUsage as Record<string, number>)[key] = value
        }
        break
      case "message_stop":
        stopped = true
        break
      default:
        break
    }
  }
  if (!stopped || stopReason === undefined) {
    throw new ProviderError({
      code: "provider.badResponse",
      message: "the provider's stream ended before the response finished",
    })
  }
  const ordered = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block)
  const thinking = ordered.flatMap((block) => (block.kind === "thinking" ? [block.thinking] : []))
  return {
    text: ordered.map((block) => (block.kind === "text" ? block.text : "")).join(""),
    reasoning: thinking
      .map((block) => block.thinking)
      .filter((text) => text !== "")
      .join("\n\n"),
    thinking,
    toolCalls: ordered.flatMap((block) =>
      block.kind === "toolUse" ? [{ id: block.id, name: block.name, arguments: block.arguments }] : [],
    ),
    finishReason: FINISH_REASONS[stopReason] ?? stopReason,
    usage: anthropicUsage(wireUsage),
  }
}
