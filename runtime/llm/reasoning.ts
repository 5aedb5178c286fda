// Maps the reasoning budget onto each provider's own request setting.
import type { ReasoningBudget } from "../protocol/config/provider.ts"
import type { ReasoningStyle } from "./providers.ts"

const TOKENS = { minimal: 1024, low: 2048, medium: 5000, high: 10000 } as const

/** Tokens for a budget, or 0 when reasoning is off. */
export function reasoningTokens(budget: ReasoningBudget): number {
  if (budget === "none") return 0
  return typeof budget === "number" ? budget : TOKENS[budget]
}

export function reasoningParams(style: ReasoningStyle, budget: ReasoningBudget): Record<string, unknown> {
  const tokens = reasoningTokens(budget)
  if (tokens === 0) return {}
  switch (style) {
    case "effort":
      return { reasoning_effort: tokens <= 2048 ? "low" : tokens <= 5000 ? "medium" : "high" }
    case "thinking":
      // Anthropic's minimum thinking budget is 1024 tokens.
      return { thinking: { type: "enabled", budget_tokens: Math.max(1024, tokens) } }
    case "openrouter":
      return { reasoning: { max_tokens: tokens } }
    case "none":
      return {}
  }
}
