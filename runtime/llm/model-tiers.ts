// Upstream's model tiers: what `defaultModelTier = "low" | "middle" | "high"` means for each provider.
import type { ModelTier } from "../protocol/config/expert.ts"
import type { ProviderName } from "../protocol/config/provider.ts"

type TierTable = Readonly<Partial<Record<ModelTier, string>>>

const OPENAI: TierTable = { low: "gpt-5-nano", middle: "gpt-5-mini", high: "gpt-5" }
const GEMINI: TierTable = { low: "gemini-2.5-flash-lite", middle: "gemini-2.5-flash", high: "gemini-2.5-pro" }

/**
 * Upstream's tables for its providers (anthropic, openai, google, deepseek, ollama, azure-openai, google-vertex),
 * plus ours for the providers it lacks. A provider serving no model of some tier leaves it out: the cascade picks
 * the nearest one. Azure's entries are deployment names, which by convention are the model names.
 * openai-compatible (and amazon-bedrock, not served here) have no table: a tier there falls back to the job's model.
 */
export const MODEL_TIER_TABLES: Readonly<Partial<Record<ProviderName, TierTable>>> = {
  anthropic: { low: "claude-haiku-4-5", middle: "claude-sonnet-4-5", high: "claude-opus-4-6" },
  openai: OPENAI,
  "azure-openai": OPENAI,
  google: GEMINI,
  "google-vertex": GEMINI,
  deepseek: { low: "deepseek-chat", middle: "deepseek-chat", high: "deepseek-reasoner" },
  ollama: { low: "gpt-oss:20b", middle: "gpt-oss:20b", high: "gpt-oss:120b" },
  fireworks: {
    low: "accounts/fireworks/models/gpt-oss-20b",
    middle: "accounts/fireworks/models/gpt-oss-120b",
    high: "accounts/fireworks/models/kimi-k2p5",
  },
  openrouter: {
    low: "anthropic/claude-haiku-4.5",
    middle: "anthropic/claude-sonnet-4.5",
    high: "anthropic/claude-opus-4.5",
  },
  groq: { low: "openai/gpt-oss-20b", middle: "openai/gpt-oss-120b" },
  together: { low: "openai/gpt-oss-20b", middle: "openai/gpt-oss-120b" },
  mistral: { low: "mistral-small-latest", middle: "mistral-medium-latest", high: "mistral-large-latest" },
}

/** The nearest tier first; between two equally near, the more capable (a task asked for more never gets less first). */
const CASCADE: Readonly<Record<ModelTier, readonly ModelTier[]>> = {
  low: ["low", "middle", "high"],
  middle: ["middle", "high", "low"],
  high: ["high", "middle", "low"],
}

/** The provider's model for `tier`, or the nearest tier it has; undefined when it has no table at all. */
export function modelForTier(
  providerName: ProviderName,
  tier: ModelTier,
): { model: string; tier: ModelTier } | undefined {
  const table = MODEL_TIER_TABLES[providerName]
  if (!table) return undefined
  for (const candidate of CASCADE[tier]) {
    const model = table[candidate]
    if (model !== undefined) return { model, tier: candidate }
  }
  return undefined
}
