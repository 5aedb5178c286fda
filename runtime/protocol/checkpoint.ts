// A checkpoint: the full state of one Expert's conversation after a step, enough to resume it anywhere.
import { z } from "zod"
import { messageSchema } from "./message.ts"
import { statusSchema } from "./status.ts"
import { toolCallSchema, toolResultSchema } from "./tool.ts"
import { usageSchema } from "./usage.ts"
import { protocolVersionSchema } from "./version.ts"

export const expertRefSchema = z.strictObject({
  key: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
})
export type ExpertRef = z.infer<typeof expertRefSchema>

export const delegationTargetSchema = z.strictObject({
  expert: expertRefSchema,
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  query: z.string(),
})
export type DelegationTarget = z.infer<typeof delegationTargetSchema>

export const delegatedBySchema = z.strictObject({
  expert: expertRefSchema,
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  checkpointId: z.string().min(1),
  runId: z.string().min(1),
})
export type DelegatedBy = z.infer<typeof delegatedBySchema>

export const runErrorSchema = z.strictObject({
  name: z.string(),
  message: z.string(),
  /** a stable string code such as `provider.rateLimited`, `sandbox.crashed` */
  code: z.string().optional(),
  statusCode: z.number().int().optional(),
  isRetryable: z.boolean(),
})
export type RunError = z.infer<typeof runErrorSchema>

export const todoSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  title: z.string(),
  completed: z.boolean(),
})
export type Todo = z.infer<typeof todoSchema>

export const checkpointSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  id: z.string().min(1),
  jobId: z.string().min(1),
  runId: z.string().min(1),
  status: statusSchema,
  /** job-global: delegates continue the parent's numbering */
  stepNumber: z.number().int().nonnegative(),
  messages: z.array(messageSchema),
  expert: expertRefSchema,
  delegateTo: z.array(delegationTargetSchema).optional(),
  delegatedBy: delegatedBySchema.optional(),
  /** cumulative for this Expert's conversation */
  usage: usageSchema,
  contextWindow: z.number().int().positive().optional(),
  /** the last generation's prompt size over the context window (not cumulative, unlike the original) */
  contextWindowUsage: z.number().nonnegative().optional(),
  pendingToolCalls: z.array(toolCallSchema).optional(),
  partialToolResults: z.array(toolResultSchema).optional(),
  /** the base skill's todo list lives here, so it survives a resume */
  todos: z.array(todoSchema).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  error: runErrorSchema.optional(),
  retryCount: z.number().int().nonnegative().optional(),
})
export type Checkpoint = z.infer<typeof checkpointSchema>
