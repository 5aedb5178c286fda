// Provider presets: where each provider's endpoint is (OpenAI-compatible, but Anthropic's own API, whose SDK takes
// the root without /v1) and which variable holds its key.
import type { ProviderName } from "../protocol/config/provider.ts"

export type ReasoningStyle =
  /** `reasoning_effort: low | medium | high` */
  | "effort"
  /** Anthropic's `thinking: {type: "enabled", budget_tokens}` */
  | "thinking"
  /** OpenRouter's `reasoning: {max_tokens}` */
  | "openrouter"
  /** no setting: the model decides (e.g. deepseek-reasoner) */
  | "none"

export interface ProviderPreset {
  /** variables holding the API key, first found wins; empty when no key is needed */
  keyVariables: readonly string[]
  /** whether a missing key is an error */
  keyRequired: boolean
  baseUrlVariable: string
  /** undefined when the user must give one */
  defaultBaseUrl: string | undefined
  reasoning: ReasoningStyle
}

const preset = (
  keyVariables: readonly string[],
  baseUrlVariable: string,
  defaultBaseUrl: string | undefined,
  reasoning: ReasoningStyle,
): ProviderPreset => ({
  keyVariables,
  keyRequired: keyVariables.length > 0,
  baseUrlVariable,
  defaultBaseUrl,
  reasoning,
})

export const PROVIDER_PRESETS: Readonly<Record<ProviderName, ProviderPreset | undefined>> = {
  openai: preset(["OPENAI_API_KEY"], "OPENAI_BASE_URL", "https://api.openai.com/v1", "effort"),
  anthropic: preset(["ANTHROPIC_API_KEY"], "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "thinking"),
  google: preset(
    ["GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"],
    "GOOGLE_GENERATIVE_AI_BASE_URL",
    "https://generativelanguage.googleapis.com/v1beta/openai/",
    "effort",
  ),
  // The base URL comes from `resourceName` / AZURE_RESOURCE_NAME when not given (see resolveProvider).
  "azure-openai": preset(["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"], "AZURE_BASE_URL", undefined, "effort"),
  deepseek: preset(["DEEPSEEK_API_KEY"], "DEEPSEEK_BASE_URL", "https://api.deepseek.com/v1", "none"),
  fireworks: preset(
    ["FIREWORKS_API_KEY"],
    "FIREWORKS_BASE_URL",
    "https://api.fireworks.ai/inference/v1",
    "effort",
  ),
  ollama: { ...preset([], "OLLAMA_BASE_URL", "http://localhost:11434/v1", "effort"), keyRequired: false },
  openrouter: preset(
    ["OPENROUTER_API_KEY"],
    "OPENROUTER_BASE_URL",
    "https://openrouter.ai/api/v1",
    "openrouter",
  ),
  groq: preset(["GROQ_API_KEY"], "GROQ_BASE_URL", "https://api.groq.com/openai/v1", "effort"),
  together: preset(["TOGETHER_API_KEY"], "TOGETHER_BASE_URL", "https://api.together.xyz/v1", "effort"),
  mistral: preset(["MISTRAL_API_KEY"], "MISTRAL_BASE_URL", "https://api.mistral.ai/v1", "none"),
  "openai-compatible": preset(
    ["OPENAI_COMPATIBLE_API_KEY"],
    "OPENAI_COMPATIBLE_BASE_URL",
    undefined,
    "effort",
  ),
  // No OpenAI-compatible endpoint that works with a plain API key.
  "amazon-bedrock": undefined,
  "google-vertex": undefined,
}
