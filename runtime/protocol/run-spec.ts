// What a sandbox is given to run one segment of one Expert: no secrets, ever.
import { z } from "zod"
import { checkpointSchema, delegatedBySchema, historyBaseSchema } from "./checkpoint.ts"
import { providerConfigSchema, reasoningBudgetSchema } from "./config/provider.ts"
import { envNameSchema, skillSchema } from "./config/skill.ts"
import { skillLocksSchema } from "./lockfile.ts"
import { toolResultSchema } from "./tool.ts"
import { protocolVersionSchema } from "./version.ts"

export const runSpecExpertSchema = z.strictObject({
  key: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  instruction: z.string().min(1),
  description: z.string().optional(),
  skills: z.record(z.string().min(1), skillSchema),
  tags: z.array(z.string()).default([]),
})
export type RunSpecExpert = z.infer<typeof runSpecExpertSchema>

/** A delegate as its caller sees it: offered as a tool taking `{query}`. */
export const delegateInfoSchema = z.strictObject({
  key: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().optional(),
})
export type DelegateInfo = z.infer<typeof delegateInfoSchema>

/**
 * What of the input checkpoint's conversation the job store holds: the segment's first checkpoint record continues
 * it. Absent: all of it, as the input checkpoint's own id (set when the orchestrator made the input up, after a crash).
 */
const historyBase = historyBaseSchema.optional()

export const runInputSchema = z.discriminatedUnion("type", [
  /** a fresh conversation: the coordinator's first query, or a delegate's task */
  z.strictObject({
    type: z.literal("query"),
    text: z.string(),
    delegatedBy: delegatedBySchema.optional(),
  }),
  /** a new user message on top of a checkpoint (follow-up query, or resume from an earlier checkpoint) */
  z.strictObject({
    type: z.literal("continue"),
    checkpoint: checkpointSchema,
    text: z.string(),
    historyBase,
  }),
  /** the results the checkpoint was waiting for (delegates' answers or errors, interactive answers) */
  z.strictObject({
    type: z.literal("resume"),
    checkpoint: checkpointSchema,
    /** empty when recovering a crashed run: its checkpoint's pending calls run again */
    toolResults: z.array(toolResultSchema),
    /** pending calls that had started before a crash (see resumeToolCalls.repeatedToolCallIds) */
    repeatedToolCallIds: z.array(z.string()).optional(),
    historyBase,
  }),
])
export type RunInput = z.infer<typeof runInputSchema>

export const runSpecSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  jobId: z.string().min(1),
  runId: z.string().min(1),
  expert: runSpecExpertSchema,
  delegates: z.array(delegateInfoSchema).default([]),
  /** delegates never get interactive tools; set for every run that is not the coordinator's */
  isDelegated: z.boolean().default(false),
  provider: providerConfigSchema,
  model: z.string().min(1),
  reasoningBudget: reasoningBudgetSchema.default("low"),
  /** overrides where LLM requests go (the orchestrator's gateway); the key comes from the environment */
  llmBaseUrl: z.url().optional(),
  limits: z.strictObject({
    /** steps this segment may still take: the job's budget left */
    stepBudget: z.number().int().nonnegative(),
    maxRetries: z.number().int().nonnegative().default(5),
    /** per-generation timeout in ms */
    timeout: z.number().int().positive().default(300_000),
  }),
  /** job-global number of the last step before this segment; its first step is stepNumber + 1 */
  stepNumber: z.number().int().nonnegative(),
  input: runInputSchema,
  /**
   * Variables the user passed in with `--env`: their values are in the sandbox's environment (never here), and
   * exec and the MCP servers see them besides their usual pass-through list.
   */
  forwardedEnv: z.array(envNameSchema).optional(),
  /** absolute path of the workspace inside the sandbox (default: the working directory) */
  workspace: z.string().min(1).optional(),
  /**
   * From a fresh perstack.lock, per skill name of this Expert: its tools (the server then starts at its first tool
   * call) and the exact npx package to start. Absent: every MCP server starts before the first LLM request.
   */
  skillLocks: skillLocksSchema.optional(),
  /**
   * Workspace files the orchestrator keeps from the sandbox (env files: they hold keys), relative to the workspace:
   * the base skill's tools refuse them, saying why, where the sandbox sees an empty file.
   */
  maskedPaths: z.array(z.string().min(1)).optional(),
})
export type RunSpec = z.infer<typeof runSpecSchema>
