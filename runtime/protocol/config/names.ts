// The names perstack.toml and the command line accept for providers and sandbox backends: plain lists, so that the
// CLI can parse its options without loading the schemas.

export const PROVIDER_NAMES = [
  "anthropic",
  "google",
  "openai",
  "ollama",
  "azure-openai",
  "amazon-bedrock",
  "google-vertex",
  "deepseek",
  "fireworks",
  "openrouter",
  "groq",
  "together",
  "mistral",
  "openai-compatible",
] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]

export const SANDBOX_BACKENDS = ["local", "docker", "kubernetes"] as const
export type SandboxBackend = (typeof SANDBOX_BACKENDS)[number]
