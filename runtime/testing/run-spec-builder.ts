// Builds RunSpecs for tests: a valid default, overridden where a test cares.
import type { RunSpec, RunSpecExpert } from "../protocol/run-spec.ts"
import { runSpecSchema } from "../protocol/run-spec.ts"
import { PROTOCOL_VERSION } from "../protocol/version.ts"

export function buildRunSpec(options: {
  workspace: string
  llmUrl: string
  input?: RunSpec["input"]
  expert?: Partial<RunSpecExpert>
  delegates?: RunSpec["delegates"]
  isDelegated?: boolean
  limits?: Partial<RunSpec["limits"]>
  stepNumber?: number
  runId?: string
  model?: string
}): RunSpec {
  return runSpecSchema.parse({
    protocolVersion: PROTOCOL_VERSION,
    jobId: "job-test",
    runId: options.runId ?? "run-test",
    expert: {
      key: "writer",
      name: "writer",
      version: "1.0.0",
      instruction: "Write what you are asked to write.",
      skills: {},
      tags: [],
      ...options.expert,
    },
    delegates: options.delegates ?? [],
    isDelegated: options.isDelegated ?? false,
    provider: { providerName: "openai", setting: { baseUrl: options.llmUrl } },
    model: options.model ?? "gpt-test",
    reasoningBudget: "none",
    limits: { stepBudget: 20, maxRetries: 3, timeout: 5_000, ...options.limits },
    stepNumber: options.stepNumber ?? 0,
    input: options.input ?? { type: "query", text: "Write a plan." },
    workspace: options.workspace,
  })
}
