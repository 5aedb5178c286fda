// An API caller's providerConfig as the job's provider: the table checked against ours, the key put in its variable.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { PROVIDER_PRESETS } from "../../../runtime/host/providers.ts"
import {
  type ProviderConfig,
  type ProviderName,
  providerConfigSchema,
} from "../../../runtime/protocol/config/provider.ts"
import type { ProviderConfigInput } from "./run-params.ts"

export interface ProviderChoice {
  /** a name alone keeps perstack.toml's [provider.setting] for that provider; a table is laid over it */
  provider: ProviderName | ProviderConfig
  /** the API key, under the variable the provider reads it from */
  env: Record<string, string>
}

export function providerOf(input: ProviderConfigInput): ProviderChoice {
  const { providerName, apiKey, setting, ...flat } = input
  const merged = { ...setting, ...flat }
  let provider: ProviderName | ProviderConfig = providerName
  if (Object.keys(merged).length > 0) {
    const parsed = providerConfigSchema.safeParse({ providerName, setting: merged })
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const keys = issue?.code === "unrecognized_keys" ? issue.keys : [issue?.path.at(-1)]
      const message =
        issue?.code === "unrecognized_keys"
          ? `not a setting of provider "${providerName}"`
          : (issue?.message ?? "invalid")
      throw new PerstackError(
        "usage",
        `run(): setting.providerConfig.${keys.map(String).join(", ")}: ${message}`,
      )
    }
    provider = parsed.data
  }
  if (apiKey === undefined) return { provider, env: {} }
  const variable =
    (typeof merged.apiKeyEnv === "string" ? merged.apiKeyEnv : undefined) ??
    PROVIDER_PRESETS[providerName]?.keyVariables[0]
  if (!variable) {
    throw new PerstackError(
      "usage",
      `run(): setting.providerConfig.apiKey: provider "${providerName}" takes no API key here`,
    )
  }
  return { provider, env: { [variable]: apiKey } }
}
