// What the seeds' `run()` takes: upstream @perstack/runtime's `{ setting, checkpoint }` and its callbacks, parsed.
import { z } from "zod"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { type Checkpoint, checkpointSchema } from "../../../runtime/protocol/checkpoint.ts"
import type { PerstackConfig } from "../../../runtime/protocol/config/perstack-toml.ts"
import { providerNameSchema, reasoningBudgetSchema } from "../../../runtime/protocol/config/provider.ts"
import type { PerstackEvent } from "../../../runtime/protocol/events/index.ts"
import { didYouMean } from "../../config/did-you-mean.ts"

const fn = <T>(what: string) =>
  z.custom<T>((value) => typeof value === "function", { message: `${what} must be a function` })
const signal = z.custom<AbortSignal>((value) => value instanceof AbortSignal, {
  message: "expected an AbortSignal",
})

/**
 * Upstream's providerConfig is flat (`{ providerName, apiKey, baseUrl, headers, ... }`); ours keeps the non-secret
 * settings under `setting`. Both shapes are taken; the key goes into the provider's environment variable.
 */
const providerConfigInputSchema = z.strictObject({
  providerName: providerNameSchema,
  apiKey: z.string().min(1).optional(),
  baseUrl: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  organization: z.string().optional(),
  project: z.string().optional(),
  name: z.string().optional(),
  resourceName: z.string().optional(),
  apiVersion: z.string().optional(),
  useDeploymentBasedUrls: z.boolean().optional(),
  region: z.string().optional(),
  location: z.string().optional(),
  apiKeyEnv: z.string().optional(),
  setting: z.record(z.string(), z.unknown()).optional(),
})
export type ProviderConfigInput = z.infer<typeof providerConfigInputSchema>

/** Upstream RunSetting keys that have no counterpart here: accepted, ignored, and said so. */
export const IGNORED_SETTING_KEYS = {
  runId: "run ids are made by the orchestrator, one per run segment",
  temperature: "the providers' default temperature is used",
  startedAt: "the orchestrator records the job's times",
  updatedAt: "the orchestrator records the job's times",
  perstackApiBaseUrl: "the Perstack API (registry Experts) is not used: Experts come from perstack.toml",
  perstackApiKey: "the Perstack API (registry Experts) is not used: Experts come from perstack.toml",
  perstackBaseSkillCommand: "the base skill is built into every sandbox's runtime",
  proxyUrl: "set HTTPS_PROXY in the environment instead",
  verbose: "sandboxes' stderr is not forwarded by this API",
} as const

const ignored = Object.fromEntries(
  Object.keys(IGNORED_SETTING_KEYS).map((key) => [key, z.unknown().optional()]),
) as Record<keyof typeof IGNORED_SETTING_KEYS, z.ZodOptional<z.ZodUnknown>>

export const runSettingSchema = z.strictObject({
  /** the coordinator Expert, a key of perstack.toml's [experts] */
  expertKey: z.string().min(1),
  input: z.strictObject({
    text: z.string().optional(),
    /** the answer to the interactive tool call a resumed checkpoint is waiting on */
    interactiveToolCallResult: z
      .strictObject({
        toolCallId: z.string().min(1),
        toolName: z.string().optional(),
        skillName: z.string().optional(),
        text: z.string(),
      })
      .optional(),
  }),
  model: z.string().min(1).optional(),
  providerConfig: providerConfigInputSchema.optional(),
  /** a new job's id; with a job of that id in the store, the job is continued */
  jobId: z.string().min(1).optional(),
  reasoningBudget: reasoningBudgetSchema.optional(),
  maxSteps: z.number().int().positive().optional(),
  maxRetries: z.number().int().nonnegative().optional(),
  /** per generation, ms */
  timeout: z.number().int().positive().optional(),
  /** laid over the environment (process env, .env and .env.local in the workspace) */
  env: z.record(z.string(), z.string()).optional(),
  /** every Expert's working directory (default: the current directory) */
  workspace: z.string().min(1).optional(),
  signal: signal.optional(),
  /** upstream's inline Experts: refused, with a pointer to perstack.toml */
  experts: z.unknown().optional(),
  ...ignored,
})
export type RunSettingInput = z.input<typeof runSettingSchema>

type EventListener = (event: PerstackEvent) => void | Promise<void>
type StoreCheckpoint = (checkpoint: Checkpoint) => Promise<void> | void
type RetrieveCheckpoint = (jobId: string, checkpointId: string) => Promise<Checkpoint> | Checkpoint

/** The callbacks, as upstream takes them in run()'s second argument; the seeds pass eventListener in the first. */
const callbacksShape = {
  /** every event of the job, in order; a returned promise makes the job wait for it */
  eventListener: fn<EventListener>("eventListener").optional(),
  /** every checkpoint of the job, whole, as it is made; given, the job keeps no store in the workspace */
  storeCheckpoint: fn<StoreCheckpoint>("storeCheckpoint").optional(),
  /** the checkpoint `resumeFrom` names, from the caller's store */
  retrieveCheckpoint: fn<RetrieveCheckpoint>("retrieveCheckpoint").optional(),
  signal: signal.optional(),
  /** what is worth telling that does not stop the job; default: process.emitWarning */
  onWarning: fn<(message: string) => void>("onWarning").optional(),
}
export const runCallbacksSchema = z.strictObject(callbacksShape)
export type RunCallbacks = z.input<typeof runCallbacksSchema>

export const runParamsSchema = z.strictObject({
  setting: runSettingSchema,
  /** resume from this checkpoint (one of the coordinator's) */
  checkpoint: checkpointSchema.optional(),
  /** resume from this checkpoint of job `setting.jobId`: from retrieveCheckpoint, else from the job store */
  resumeFrom: z.string().min(1).optional(),
  /** a parsed config, or perstack.toml text; otherwise `configPath`, otherwise the nearest perstack.toml */
  config: z
    .custom<PerstackConfig | string>((value) => typeof value === "string" || typeof value === "object", {
      message: "expected perstack.toml text or a parsed config",
    })
    .optional(),
  configPath: z.string().min(1).optional(),
  ...callbacksShape,
})
export type RunParams = z.input<typeof runParamsSchema>
export type ParsedRunParams = z.output<typeof runParamsSchema>

/** The params and the callbacks as one, checked: an unknown or mistyped key is refused by its path. */
export function parseRunParams(params: unknown, callbacks: unknown): ParsedRunParams {
  const first = runParamsSchema.safeParse(params)
  if (!first.success) throw usageError(first.error, "")
  const second = runCallbacksSchema.safeParse(callbacks ?? {})
  if (!second.success) throw usageError(second.error, "options.")
  for (const key of Object.keys(second.data) as (keyof typeof second.data)[]) {
    if (
      second.data[key] !== undefined &&
      first.data[key] !== undefined &&
      second.data[key] !== first.data[key]
    )
      throw new PerstackError("usage", `run(): ${key} is given twice (in the params and in the options)`)
  }
  const parsed = { ...first.data, ...dropUndefined(second.data) }
  if (parsed.setting.experts !== undefined) {
    throw new PerstackError(
      "usage",
      "setting.experts: inline Experts are not supported: declare them in perstack.toml (or pass its text as `config`)",
    )
  }
  return parsed
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": Object.keys(runParamsSchema.shape),
  "options.": Object.keys(runCallbacksSchema.shape),
  setting: Object.keys(runSettingSchema.shape),
  "setting.input": Object.keys(runSettingSchema.shape.input.shape),
  "setting.providerConfig": Object.keys(providerConfigInputSchema.shape),
}

function usageError(error: z.ZodError, prefix: string): PerstackError {
  const issue = error.issues[0]
  if (!issue) return new PerstackError("usage", "run(): invalid arguments")
  const at = issue.path.map(String).join(".")
  if (issue.code === "unrecognized_keys") {
    const known = KNOWN_KEYS[prefix === "options." ? prefix : at] ?? []
    const names = issue.keys.map((key) => `${prefix}${at ? `${at}.` : ""}${key}`)
    const first = issue.keys[0] ?? ""
    return new PerstackError(
      "usage",
      `run(): unknown key ${names.map((name) => `"${name}"`).join(", ")}${didYouMean(first, known)}; known keys${at ? ` of ${prefix}${at}` : ""}: ${known.join(", ")}`,
    )
  }
  return new PerstackError("usage", `run(): ${prefix}${at || "(params)"}: ${issue.message}`)
}
