// Token usage, summed field-wise across steps, runs and jobs.
import { z } from "zod"

const count = z.number().int().nonnegative()

export const usageSchema = z.strictObject({
  inputTokens: count,
  outputTokens: count,
  reasoningTokens: count,
  totalTokens: count,
  cachedInputTokens: count,
})
export type Usage = z.infer<typeof usageSchema>

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, totalTokens: 0, cachedInputTokens: 0 }
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  }
}
