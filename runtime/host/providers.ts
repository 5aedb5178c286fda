// Part of the runtime's surface for its host (the orchestrator): how a provider is named, reached and keyed, which the
// LLM gateway and the sandbox environment use exactly as the runtime does (and read its usage alike), so both sides
// agree.

export { anthropicUsage } from "../llm/anthropic-usage.ts"
export { modelForTier } from "../llm/model-tiers.ts"
export { PROVIDER_PRESETS } from "../llm/providers.ts"
export { authHeader, GATEWAY_TOKEN_ENV, requestTarget, resolveProvider } from "../llm/resolve-provider.ts"
