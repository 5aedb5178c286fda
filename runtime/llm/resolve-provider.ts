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
  /**
   * Azure OpenAI, called directly: every request carries `api-version` and the key in an `api-key` header, and
   * with deployment-based URLs the model (the deployment's name) is part of the path. Unset through the gateway,
   * which speaks plain OpenAI to the sandbox and Azure to Azure.
   */
  azure?: { apiVersion: string; deploymentBasedUrls: boolean }
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
  let azure: ResolvedProvider["azure"]
  if (name === "azure-openai" && options.baseUrlOverride === undefined) {
    // Upstream's (the AI SDK's) URLs: baseUrl, else https://<resourceName>.openai.azure.com/openai, is a prefix;
    // requests go to <prefix>/v1/<path>, or with useDeploymentBasedUrls to <prefix>/deployments/<model>/<path>.
    const resource = settingString("resourceName") ?? nonEmpty(env.AZURE_RESOURCE_NAME)
    if (baseUrl === undefined && resource) baseUrl = `https://${resource}.openai.azure.com/openai`
    if (baseUrl !== undefined) {
      const deploymentBasedUrls = setting.useDeploymentBasedUrls === true
      const prefix = baseUrl.replace(/\/+$/, "")
      // A prefix already ending in /v1 (this project's earlier form) is taken as the v1 URL itself.
      baseUrl = deploymentBasedUrls || prefix.endsWith("/v1") ? prefix : `${prefix}/v1`
      azure = {
        apiVersion: settingString("apiVersion") ?? nonEmpty(env.AZURE_API_VERSION) ?? "v1",
        deploymentBasedUrls,
      }
    }
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
    ...(azure ? { azure } : {}),
  }
}

/** Anthropic's SDK wants the API's root: a base URL given with /v1 (the gateway's, or a v1 prefix) loses it. */
export const anthropicRoot = (baseUrl: string) => baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "")

/** Where one model's requests go: the base URL (an Azure deployment's names the model) and the query they carry. */
export function requestTarget(
  provider: ResolvedProvider,
  model: string,
): { baseUrl: string; query: Record<string, string> } {
  const { azure } = provider
  if (provider.providerName === "anthropic")
    return { baseUrl: `${anthropicRoot(provider.baseUrl)}/v1`, query: {} }
  if (!azure) return { baseUrl: provider.baseUrl, query: {} }
  return {
    baseUrl: azure.deploymentBasedUrls
      ? `${provider.baseUrl}/deployments/${encodeURIComponent(model)}`
      : provider.baseUrl,
    query: { "api-version": azure.apiVersion },
  }
}

/**
 * The credential header: Azure's own `api-key` for a direct Azure call, else `Authorization: Bearer` (Anthropic's
 * too: @anthropic-ai/sdk 1.x sends its API key so, and the gateway sends it as the runtime would without it).
 */
export function authHeader(provider: ResolvedProvider): Record<string, string> {
  return provider.azure ? { "api-key": provider.apiKey } : { authorization: `Bearer ${provider.apiKey}` }
}
