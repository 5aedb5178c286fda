// Builds the RunSpec a sandbox is given: the Expert, its delegates, the model settings and the input. No secrets.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { RunInput, RunSpec } from "../../runtime/protocol/run-spec.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { type JobSettings, modelFor } from "./settings.ts"

export function expertOf(config: PerstackConfig, key: string) {
  const expert = config.experts[key]
  if (!expert) {
    const known = Object.keys(config.experts).join(", ") || "none"
    throw new PerstackError("expert.notFound", `no Expert "${key}" in perstack.toml (defined: ${known})`)
  }
  return expert
}

export function buildRunSpec(options: {
  config: PerstackConfig
  settings: JobSettings
  jobId: string
  runId: string
  expertKey: string
  isDelegated: boolean
  input: RunInput
  /** job-global number of the last step taken */
  stepNumber: number
  stepBudget: number
  llmBaseUrl?: string
  skillLocks?: RunSpec["skillLocks"]
}): RunSpec {
  const expert = expertOf(options.config, options.expertKey)
  return {
    protocolVersion: PROTOCOL_VERSION,
    jobId: options.jobId,
    runId: options.runId,
    expert: {
      key: options.expertKey,
      name: options.expertKey,
      version: expert.version,
      instruction: expert.instruction,
      ...(expert.description ? { description: expert.description } : {}),
      skills: expert.skills,
      tags: expert.tags,
    },
    delegates: expert.delegates.map((key) => {
      const delegate = expertOf(options.config, key)
      return {
        key,
        name: key,
        version: delegate.version,
        ...(delegate.description ? { description: delegate.description } : {}),
      }
    }),
    isDelegated: options.isDelegated,
    provider: options.settings.provider,
    model: modelFor(options.settings, expert),
    reasoningBudget: options.settings.reasoningBudget,
    ...(options.llmBaseUrl ? { llmBaseUrl: options.llmBaseUrl } : {}),
    limits: {
      stepBudget: options.stepBudget,
      maxRetries: options.settings.maxRetries,
      timeout: options.settings.timeout,
    },
    stepNumber: options.stepNumber,
    input: options.input,
    // Only when used: a RunSpec without it is what a runtime (image) built before it reads.
    ...(options.settings.forwardEnv.length > 0 ? { forwardedEnv: [...options.settings.forwardEnv] } : {}),
    ...(options.skillLocks ? { skillLocks: options.skillLocks } : {}),
  }
}
