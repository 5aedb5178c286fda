// The effective settings of a job: command line over perstack.toml over defaults, in one place.
import { z } from "zod"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { GATEWAY_TOKEN_ENV, modelForTier, PROVIDER_PRESETS } from "../../runtime/host/providers.ts"
import { PROTECTED_ENV_NAMES } from "../../runtime/host/sandbox-process.ts"
import type { ExpertConfig } from "../../runtime/protocol/config/expert.ts"
import {
  type PerstackConfig,
  type SandboxBackend,
  sandboxBackendSchema,
} from "../../runtime/protocol/config/perstack-toml.ts"
import {
  type ProviderConfig,
  type ProviderName,
  providerConfigSchema,
  providerNameSchema,
  type ReasoningBudget,
  reasoningBudgetSchema,
} from "../../runtime/protocol/config/provider.ts"
import { ENV_NAME_PATTERN } from "../../runtime/protocol/config/skill.ts"

export const DEFAULTS = {
  providerName: "anthropic" as ProviderName,
  /** for a provider without a tier table (openai-compatible); the others default to their middle tier */
  model: "claude-sonnet-4-5",
  reasoningBudget: "low" as ReasoningBudget,
  maxSteps: 100,
  maxRetries: 5,
  /** per generation, ms (the original's effective default) */
  timeout: 300_000,
  concurrency: 4,
  sandbox: "local" as SandboxBackend,
  /** resumes of a run whose sandbox died, before its failure goes to the parent */
  crashRetries: 2,
  crashRetryBaseMs: 1_000,
  /** a sandbox that prints nothing (not even its heartbeat, every quarter of this) for this long is stuck */
  silenceTimeoutMs: 120_000,
}

/**
 * Every setting of a job in one schema. The effective settings are its output; what a caller (the CLI, the library,
 * the server) may override is a partial of it, with the provider given by name or as a (partial) table.
 */
const settingFields = {
  /** the model of a run whose Expert names no tier: --model, else perstack.toml's, else the provider's middle tier */
  model: z.string().min(1),
  reasoningBudget: reasoningBudgetSchema,
  /** the job's step budget, across all its runs */
  maxSteps: z.number().int().positive(),
  maxRetries: z.number().int().nonnegative(),
  /** per generation, ms */
  timeout: z.number().int().positive(),
  /** sandboxes running at once */
  concurrency: z.number().int().positive(),
  sandbox: sandboxBackendSchema,
  /** wall-clock limit of the whole job, ms */
  jobTimeout: z.number().int().positive().optional(),
  /** how often a run whose sandbox died is resumed in a fresh one (with backoff from crashRetryBaseMs) */
  crashRetries: z.number().int().nonnegative(),
  crashRetryBaseMs: z.number().int().nonnegative(),
  /** a run whose sandbox printed nothing for this long (ms) is ended as a crash, and resumed like one */
  silenceTimeoutMs: z.number().int().positive(),
  /** LLM requests go through the orchestrator's gateway: sandboxes get a per-run token, never the provider key */
  gateway: z.boolean(),
  /** `--env` names: passed into every sandbox of the job, where exec and the MCP servers see them */
  forwardEnv: z.array(z.string()).readonly(),
}

const jobSettingsSchema = z.strictObject({
  provider: providerConfigSchema,
  /** given on the command line (or by the API caller): it wins over every Expert's defaultModelTier */
  modelPinned: z.boolean(),
  ...settingFields,
})
export type JobSettings = z.infer<typeof jobSettingsSchema>

/** Not strict: the library's and the CLI's options carry the overrides among their other keys. */
const settingOverridesSchema = z
  .object({
    /** a provider by name, or a whole provider table (the library's providerConfig); see resolveSettings */
    provider: z.union([providerNameSchema, z.custom<ProviderConfig>((value) => typeof value === "object")]),
    ...settingFields,
  })
  .partial()
export type SettingOverrides = z.input<typeof settingOverridesSchema>

/** Overrides from a caller typed or not (a JavaScript caller of the library): each wrong one named with its key. */
function checkOverrides(overrides: SettingOverrides): void {
  const checked = settingOverridesSchema.safeParse(overrides)
  if (checked.success) return
  const problems = checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)
  throw new PerstackError("usage", `invalid settings: ${problems.join("; ")}`)
}

export function resolveSettings(
  config: PerstackConfig,
  overrides: SettingOverrides = {},
  /** isolated: the backend's sandboxes are isolated (docker and kubernetes always, local under bubblewrap) */
  backend: { isolated?: boolean } = {},
): JobSettings {
  checkOverrides(overrides)
  const configured = config.provider
  const wanted: { providerName: ProviderName; setting?: object } | undefined =
    typeof overrides.provider === "string" ? { providerName: overrides.provider } : overrides.provider
  // A provider named on the command line keeps the file's settings only when it is the same provider; a table given
  // by an API caller is laid over them, key by key.
  const provider: ProviderConfig =
    wanted === undefined
      ? (configured ?? { providerName: DEFAULTS.providerName })
      : configured?.providerName === wanted.providerName
        ? ({ ...configured, ...withSetting(configured.setting, wanted.setting) } as ProviderConfig)
        : (wanted as ProviderConfig)
  const sandbox = overrides.sandbox ?? config.runtime ?? DEFAULTS.sandbox
  // On for docker and kubernetes, and for local sandboxes that are isolated (a plain process could read the key
  // in the orchestrator's own environment anyway); else only when asked, or when a [budget] needs it.
  const gateway =
    overrides.gateway ?? (sandbox !== "local" || config.budget !== undefined || backend.isolated === true)
  const forwardEnv = [...new Set(overrides.forwardEnv ?? [])]
  checkForwardEnv(forwardEnv, { provider, gateway })
  return {
    provider,
    model:
      overrides.model ??
      config.model ??
      modelForTier(provider.providerName, "middle")?.model ??
      DEFAULTS.model,
    modelPinned: overrides.model !== undefined,
    reasoningBudget: overrides.reasoningBudget ?? config.reasoningBudget ?? DEFAULTS.reasoningBudget,
    maxSteps: overrides.maxSteps ?? config.maxSteps ?? DEFAULTS.maxSteps,
    maxRetries: overrides.maxRetries ?? config.maxRetries ?? DEFAULTS.maxRetries,
    timeout: overrides.timeout ?? config.timeout ?? DEFAULTS.timeout,
    concurrency: overrides.concurrency ?? DEFAULTS.concurrency,
    sandbox,
    crashRetries: overrides.crashRetries ?? config.crashRetries ?? DEFAULTS.crashRetries,
    crashRetryBaseMs: overrides.crashRetryBaseMs ?? DEFAULTS.crashRetryBaseMs,
    silenceTimeoutMs: overrides.silenceTimeoutMs ?? DEFAULTS.silenceTimeoutMs,
    gateway,
    forwardEnv,
    ...(overrides.jobTimeout !== undefined ? { jobTimeout: overrides.jobTimeout } : {}),
  }
}

function withSetting(file: object | undefined, given: object | undefined): { setting?: object } {
  return file || given ? { setting: { ...file, ...given } } : {}
}

/**
 * The model one Expert's runs use. Precedence (upstream's): `--model`, then the Expert's `defaultModelTier` on the
 * job's provider (the nearest tier the provider has), then the file's `model`, then the provider's default. So a
 * coordinator on "high" and its delegates on "low" use different models in one job.
 */
export function modelFor(settings: JobSettings, expert: Pick<ExpertConfig, "defaultModelTier">): string {
  if (settings.modelPinned || expert.defaultModelTier === undefined) return settings.model
  return modelForTier(settings.provider.providerName, expert.defaultModelTier)?.model ?? settings.model
}

/**
 * Refuses an `--env` name that is not a variable name, that changes which code runs (LD_PRELOAD, NODE_OPTIONS, ...),
 * or that holds the provider's key while the gateway keeps that key out of every sandbox.
 */
function checkForwardEnv(
  names: readonly string[],
  job: { provider: ProviderConfig; gateway: boolean },
): void {
  const keyVariables = job.gateway
    ? [...(PROVIDER_PRESETS[job.provider.providerName]?.keyVariables ?? []), GATEWAY_TOKEN_ENV]
    : []
  const setting = job.provider.setting as Record<string, unknown> | undefined
  if (job.gateway && typeof setting?.apiKeyEnv === "string") keyVariables.push(setting.apiKeyEnv)
  const protectedNames = new Set(PROTECTED_ENV_NAMES.map((name) => name.toUpperCase()))
  for (const name of names) {
    const why = !ENV_NAME_PATTERN.test(name)
      ? "is not an environment variable name"
      : protectedNames.has(name.toUpperCase())
        ? "changes which programs and libraries run, and is never passed into a sandbox"
        : keyVariables.includes(name)
          ? "holds the provider's key, which the LLM gateway keeps out of every sandbox (--no-gateway gives sandboxes the key)"
          : undefined
    if (why) throw new PerstackError("usage", `--env ${name}: ${why}`)
  }
}
