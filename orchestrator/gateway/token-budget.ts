// A job's token budget ([budget] in perstack.toml): which limit, if any, the usage so far has reached.
import type { TokenBudget } from "../../runtime/protocol/config/perstack-toml.ts"
import type { Usage } from "../../runtime/protocol/usage.ts"

const LIMITS = ["inputTokens", "outputTokens", "totalTokens"] as const

/** A message naming the spent limit, or undefined while every limit has room. */
export function budgetSpent(budget: TokenBudget | undefined, usage: Usage): string | undefined {
  if (!budget) return undefined
  for (const key of LIMITS) {
    const limit = budget[key]
    if (limit !== undefined && usage[key] >= limit) {
      return `the job's token budget is spent: ${key} ${usage[key]} of ${limit} ([budget] in perstack.toml)`
    }
  }
  return undefined
}
