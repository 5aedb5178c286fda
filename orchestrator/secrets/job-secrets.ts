// Which values of a job are secrets: provider keys, skills' requiredEnv values, credential headers, and the shape
// of the tokens the orchestrator mints for its sandboxes.
import { PROVIDER_PRESETS } from "../../runtime/host/providers.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { ProviderConfig } from "../../runtime/protocol/config/provider.ts"

/** A value to redact, and the name its `[redacted:NAME]` marker shows (the variable it came from). */
export interface Secret {
  name: string
  value: string
}

/** Tokens minted per run (`pgw-` gateway, `ppx-` egress proxy): a prefix and 32 random bytes in base64url. */
export interface TokenShape {
  name: string
  prefix: string
  /** characters after the prefix */
  length: number
}

export const ORCHESTRATOR_TOKENS: readonly TokenShape[] = [
  { name: "gateway-token", prefix: "pgw-", length: 43 },
  { name: "proxy-token", prefix: "ppx-", length: 43 },
]

/**
 * Shorter values are not treated as secrets: redacting "true", a port or a region everywhere it occurs would garble
 * every record, and a value that short is no credential worth the name.
 */
const MIN_SECRET_LENGTH = 8

/**
 * Whether a value is treated as a secret: MIN_SECRET_LENGTH characters at least, and not a plain word (letters only,
 * under 16 characters: "scripted", "password", a placeholder key a local model server ignores), which would redact
 * ordinary text wherever the word occurs. Every provider's keys hold digits or symbols, or are far longer.
 */
export function isSecretValue(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH && (value.length >= 16 || /[^A-Za-z]/.test(value))
}

/** Headers of the provider's setting whose values are credentials (the others, like a version, are not). */
const CREDENTIAL_HEADER = /auth|key|token|secret|cookie/i

type Env = Readonly<Record<string, string | undefined>>

/** A list of secrets, each value once (under the first name it was found by), each one isSecretValue. */
class SecretList {
  private readonly found = new Map<string, string>()

  add(name: string, value: string | undefined): void {
    if (value === undefined || !isSecretValue(value) || this.found.has(value)) return
    this.found.set(value, name)
  }

  get secrets(): Secret[] {
    return [...this.found].map(([value, name]) => ({ name, value }))
  }
}

/**
 * The provider credentials of the environment and the provider's setting: the key variables of every provider
 * preset (a sandbox may find a key it was never given), the provider's `apiKeyEnv`, and credential headers.
 */
export function providerSecrets(options: { provider: ProviderConfig; env: Env }): Secret[] {
  const { env } = options
  const list = new SecretList()
  for (const preset of Object.values(PROVIDER_PRESETS)) {
    for (const name of preset?.keyVariables ?? []) list.add(name, env[name])
  }
  const setting = options.provider.setting as Record<string, unknown> | undefined
  if (typeof setting?.apiKeyEnv === "string") list.add(setting.apiKeyEnv, env[setting.apiKeyEnv])
  const headers = setting?.headers
  if (typeof headers === "object" && headers !== null) {
    for (const [header, value] of Object.entries(headers)) {
      if (CREDENTIAL_HEADER.test(header) && typeof value === "string") list.add(`header:${header}`, value)
    }
  }
  return list.secrets
}

/** Every secret value the job's environment and config hold: the provider's, and every skill's `requiredEnv`. */
export function jobSecrets(options: {
  config: PerstackConfig
  provider: ProviderConfig
  env: Env
}): Secret[] {
  const list = new SecretList()
  for (const secret of providerSecrets(options)) list.add(secret.name, secret.value)
  for (const expert of Object.values(options.config.experts)) {
    for (const skill of Object.values(expert.skills)) {
      if (skill.type === "interactiveSkill") continue
      for (const name of skill.requiredEnv) list.add(name, options.env[name])
    }
  }
  return list.secrets
}
