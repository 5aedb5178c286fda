// Anthropic's usage as ours, alone in its module: the orchestrator's gateway reads it too, and must not load the
// runtime's provider clients (openai, the Anthropic SDK) to do so.
import type { Usage } from "../protocol/usage.ts"

export interface WireUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_read_input_tokens?: number | null
  cache_creation_input_tokens?: number | null
}

/**
 * Our Usage from Anthropic's: its `input_tokens` leaves out what the cache read and wrote, ours (as OpenAI's) holds
 * them, with the reads also in `cachedInputTokens`. Cache writes have no field of their own in the protocol.
 */
export function anthropicUsage(wire: WireUsage): Usage {
  const cachedInputTokens = wire.cache_read_input_tokens ?? 0
  const inputTokens = (wire.input_tokens ?? 0) + cachedInputTokens + (wire.cache_creation_input_tokens ?? 0)
  const outputTokens = wire.output_tokens ?? 0
  return {
    inputTokens,
    outputTokens,
    // Anthropic does not report thinking tokens apart: they are in output_tokens.
    reasoningTokens: 0,
    totalTokens: inputTokens + outputTokens,
    cachedInputTokens,
  }
}
