// The whole `perstack.toml`: global defaults, the provider, and the Experts.
import { z } from "zod"
import { expertConfigSchema } from "./expert.ts"
import { expertNameSchema } from "./expert-key.ts"
import { SANDBOX_BACKENDS } from "./names.ts"
import { providerConfigSchema, reasoningBudgetSchema } from "./provider.ts"

export { SANDBOX_BACKENDS }
export const sandboxBackendSchema = z.enum(SANDBOX_BACKENDS)
export type SandboxBackend = z.infer<typeof sandboxBackendSchema>

/** Token limits of a whole job, enforced by the orchestrator's LLM gateway (a [budget] turns the gateway on). */
export const tokenBudgetSchema = z.strictObject({
  inputTokens: z.number().int().positive().optional(),
  outputTokens: z.number().int().positive().optional(),
  totalTokens: z.number().int().positive().optional(),
})
export type TokenBudget = z.infer<typeof tokenBudgetSchema>

/** Cross-references (a delegate must name a defined Expert) are checked by the loader, alongside every other problem. */
export const perstackConfigSchema = z.strictObject({
  model: z.string().min(1).optional(),
  provider: providerConfigSchema.optional(),
  reasoningBudget: reasoningBudgetSchema.optional(),
  /** the sandbox backend (the original's key; its "cursor"/"claude-code"/"gemini" adapters are not offered) */
  runtime: sandboxBackendSchema.optional(),
  /** the job's step budget, across every run of the job */
  maxSteps: z.number().int().positive().optional(),
  maxRetries: z.number().int().nonnegative().optional(),
  /** how often a run whose sandbox died (killed, out of memory, node lost) is resumed in a fresh one (default 2) */
  crashRetries: z.number().int().nonnegative().optional(),
  /** per-generation timeout, in ms */
  timeout: z.number().int().positive().optional(),
  /** the job's token budget: once spent, the gateway refuses the job's next LLM request and the job stops */
  budget: tokenBudgetSchema.optional(),
  experts: z.record(expertNameSchema, expertConfigSchema).default({}),
  perstackApiBaseUrl: z
    .url()
    .refine((value) => value.startsWith("https://"), "perstackApiBaseUrl must be an https:// URL")
    .optional(),
  perstackBaseSkillCommand: z.array(z.string()).min(1).optional(),
  envPath: z.array(z.string().min(1)).optional(),
})
export type PerstackConfig = z.infer<typeof perstackConfigSchema>
