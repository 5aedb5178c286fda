// The environment a sandbox gets: a short pass-through list, the provider's variables and the skills' requiredEnv.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { GATEWAY_TOKEN_ENV, PROVIDER_PRESETS, resolveProvider } from "../../runtime/host/providers.ts"
import type { ExpertConfig } from "../../runtime/protocol/config/expert.ts"
import type { ProviderConfig } from "../../runtime/protocol/config/provider.ts"

/** Harmless variables a program expects to find. Nothing else from the host reaches a sandbox. */
const PASS_THROUGH = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "TERM",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "NODE_EXTRA_CA_CERTS",
] as const

type Env = Readonly<Record<string, string | undefined>>

/** Throws (naming the variable) when the provider's key is missing: fail before any sandbox starts. */
export function checkProviderEnv(provider: ProviderConfig, env: Env): void {
  resolveProvider({ provider, env })
}

export function sandboxEnv(options: {
  expertKey: string
  expert: ExpertConfig
  provider: ProviderConfig
  env: Env
  /** the run's gateway token: given as the provider key in place of the real one, which stays out */
  gatewayToken?: string
  /** `--env` names (checked when the job's settings were resolved) */
  forwardEnv?: readonly string[]
}): Record<string, string> {
  const { env } = options
  const out: Record<string, string> = {}
  const copy = (name: string) => {
    const value = env[name]
    if (value !== undefined && value !== "") out[name] = value
  }
  for (const name of PASS_THROUGH) copy(name)
  // --env: the user's choice of what every sandbox of the job gets (one that is not set is simply absent). Before
  // the provider's variables, so a gateway token is never replaced by what the name holds on the host.
  for (const name of options.forwardEnv ?? []) copy(name)

  const preset = PROVIDER_PRESETS[options.provider.providerName]
  const setting = options.provider.setting as Record<string, unknown> | undefined
  const apiKeyEnv = typeof setting?.apiKeyEnv === "string" ? setting.apiKeyEnv : undefined
  if (options.gatewayToken !== undefined) {
    // The RunSpec's llmBaseUrl points at the gateway; the key variable the runtime reads holds the token.
    const keyVariable = apiKeyEnv ?? preset?.keyVariables[0] ?? GATEWAY_TOKEN_ENV
    out[keyVariable] = options.gatewayToken
  } else {
    if (preset) {
      for (const name of preset.keyVariables) copy(name)
      copy(preset.baseUrlVariable)
    }
    if (apiKeyEnv) copy(apiKeyEnv)
  }
  if (options.provider.providerName === "azure-openai" && options.gatewayToken === undefined) {
    copy("AZURE_RESOURCE_NAME")
    copy("AZURE_API_VERSION")
  }
  if (options.provider.providerName === "openai") {
    copy("OPENAI_ORGANIZATION")
    copy("OPENAI_PROJECT")
  }

  for (const [skillName, skill] of Object.entries(options.expert.skills)) {
    if (skill.type === "interactiveSkill") continue
    for (const name of skill.requiredEnv) {
      if (env[name] === undefined || env[name] === "") {
        throw new PerstackError(
          "env.missing",
          `${name} is not set: skill "${skillName}" of Expert "${options.expertKey}" requires it (requiredEnv); set it in the environment or in .env`,
        )
      }
      copy(name)
    }
  }
  return out
}
