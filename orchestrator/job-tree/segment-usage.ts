// A run segment's own tokens: usage is recorded cumulatively per conversation, so a segment's share is the usage
// where it stopped less the usage where it started.
import type { Usage } from "../../runtime/protocol/usage.ts"

export function segmentUsage(atEnd: Usage, atStart: Usage): Usage {
  const field = (key: keyof Usage) => Math.max(0, atEnd[key] - atStart[key])
  return {
    inputTokens: field("inputTokens"),
    outputTokens: field("outputTokens"),
    reasoningTokens: field("reasoningTokens"),
    totalTokens: field("totalTokens"),
    cachedInputTokens: field("cachedInputTokens"),
  }
}
