// A checkpoint: the full state of one Expert's conversation after a step, enough to resume it anywhere. Whole, as
// readers get it and a RunSpec carries it; as a record (protocol 2), as events and the store hold it, its
// conversation is an earlier checkpoint's plus the messages that came after, so the store grows with the work.

import { z } from "zod"
import type { ErrorCode } from "../errors/error-codes.ts"
import { messageSchema } from "./message.ts"
import { statusSchema } from "./status.ts"
import { toolCallSchema, toolResultSchema } from "./tool.ts"
import { usageSchema } from "./usage.ts"
import { currentProtocolVersionSchema, protocolVersionSchema } from "./version.ts"

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
/** A run error as this version writes it: its code one of ours. (Read back, a record's code may be any string.) */
export type WrittenRunError = RunError & { code: ErrorCode }

export const todoSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  title: z.string(),
  completed: z.boolean(),
})
export type Todo = z.infer<typeof todoSchema>

/** Everything a checkpoint holds but its conversation, in two parts: v1 had `messages` between them. */
const checkpointHead = {
  id: z.string().min(1),
  jobId: z.string().min(1),
  runId: z.string().min(1),
  status: statusSchema,
  /** job-global: delegates continue the parent's numbering */
  stepNumber: z.number().int().nonnegative(),
}
const checkpointTail = {
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
}

/** A checkpoint with its whole conversation: what a reader of the store gets, what a RunSpec carries, v1's record. */
export const checkpointSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  ...checkpointHead,
  messages: z.array(messageSchema),
  ...checkpointTail,
})
export type Checkpoint = z.infer<typeof checkpointSchema>

const historyBaseShape = {
  /** the checkpoint whose conversation this one continues; absent: it starts from no message */
  checkpointId: z.string().min(1).optional(),
  /** how many of that checkpoint's messages come first (all of them, as the runtime writes it) */
  messageCount: z.number().int().nonnegative(),
}

/** Where a conversation's stored part ends: the first `messageCount` messages of checkpoint `checkpointId`. */
export const historyBaseSchema = z.strictObject(historyBaseShape)
export type HistoryBase = z.infer<typeof historyBaseSchema>

/** A conversation as an earlier checkpoint's first messages, then the messages that came after them. */
export const checkpointHistorySchema = z.strictObject({
  ...historyBaseShape,
  newMessages: z.array(messageSchema),
})
export type CheckpointHistory = z.infer<typeof checkpointHistorySchema>

/**
 * A checkpoint as protocol 2 prints and stores it: `history` names the checkpoint it continues, which the store holds
 * already (a checkpoint of the same run, or the one its segment started from), and carries only the newer messages.
 */
export const checkpointRecordSchema = z.strictObject({
  protocolVersion: currentProtocolVersionSchema,
  ...checkpointHead,
  ...checkpointTail,
  history: checkpointHistorySchema,
})
export type CheckpointRecord = z.infer<typeof checkpointRecordSchema>
