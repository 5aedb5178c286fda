// Turns the RunSpec's provider settings and the environment into what the OpenAI client needs.
import { PerstackError } from "../errors/perstack-error.ts"
import type { ProviderConfig } from "../protocol/config/provider.ts"
import { PROVIDER_PRESETS, type ReasoningStyle } from "./providers.ts"

export interface ResolvedProvider {
  providerName: ProviderName
  baseUrl: string
  /** never logged, never put in an event */
  apiKey: string
  headers: Record<string, string>
  organization?: string
  project?: string
  reasoning: ReasoningStyle
}

type ProviderName = ProviderConfig["providerName"]
type Env = Readonly<Record<string, string | undefined>>

const nonEmpty = (value: string | undefined) =>
  value !== undefined && value.trim() !== "" ? value.trim() : undefined

/** Where a sandbox finds its run's LLM gateway token when the provider names no key variable. */
export const GATEWAY_TOKEN_ENV = "PERSTACK_GATEWAY_TOKEN"

export function resolveProvider(options: {
  provider: ProviderConfig
  env: Env
  /** overrides every other base URL (the orchestrator's gateway) */
  baseUrlOverride?: string
}): ResolvedProvider {
  const { provider, env } = options
  const name = provider.providerName
  const preset = PROVIDER_PRESETS[name]
  if (!preset) {
    throw new PerstackError(
      "provider.unsupported",
      `provider "${name}" has no OpenAI-compatible endpoint here; use "openai-compatible" with a gateway's baseUrl`,
    )
  }
  const setting: Record<string, unknown> = provider.setting ?? {}
  const settingString = (key: string) =>
    typeof setting[key] === "string" ? (setting[key] as string) : undefined

  let baseUrl =
    options.baseUrlOverride ??
    settingString("baseUrl") ??
    nonEmpty(env[preset.baseUrlVariable]) ??
    preset.defaultBaseUrl
  if (baseUrl === undefined && name === "azure-openai") {
    const resource = settingString("resourceName") ?? nonEmpty(env.AZURE_RESOURCE_NAME)
    if (resource) baseUrl = `https://${resource}.openai.azure.com/openai/v1/`
  }
  if (baseUrl === undefined) {
    const hint =
      name === "azure-openai"
        ? "set [provider.setting] resourceName or baseUrl, or AZURE_RESOURCE_NAME"
        : `set [provider.setting] baseUrl or ${preset.baseUrlVariable}`
    throw new PerstackError("provider.missingBaseUrl", `provider "${name}" needs a base URL: ${hint}`)
  }

  const keyVariables =
    name === "openai-compatible" && settingString("apiKeyEnv")
      ? [settingString("apiKeyEnv") ?? ""]
      : preset.keyVariables
  // A provider without a key of its own (ollama) still gets the run's gateway token, when it goes through one.
  const apiKey = [...keyVariables, GATEWAY_TOKEN_ENV]
    .map((variable) => nonEmpty(env[variable]))
    .find((value) => value !== undefined)
  if (apiKey === undefined && preset.keyRequired && name !== "openai-compatible") {
    throw new PerstackError(
      "provider.missingKey",
      `${keyVariables.join(" or ")} is not set: provider "${name}" needs an API key in the environment (or in .env)`,
    )
  }

  const headers = (setting.headers as Record<string, string> | undefined) ?? {}
  return {
    providerName: name,
    baseUrl,
    // Local servers (ollama, an unauthenticated gateway) still get a placeholder: the client wants a string.
    apiKey: apiKey ?? "not-needed",
    headers,
    organization: settingString("organization") ?? nonEmpty(env.OPENAI_ORGANIZATION),
    project: settingString("project") ?? nonEmpty(env.OPENAI_PROJECT),
    reasoning: preset.reasoning,
  }
}
