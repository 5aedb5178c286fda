// The 17 expert state events, named as in the original so its users recognise every one. Those that carry a
// checkpoint carry its record (protocol 2): the conversation it continues by reference, only the new messages in it.
import { z } from "zod"
import { checkpointRecordSchema, runErrorSchema } from "../checkpoint.ts"
import {
  expertMessageSchema,
  instructionMessageSchema,
  toolMessageSchema,
  userMessageSchema,
} from "../message.ts"
import { stepSchema } from "../step.ts"
import { toolCallSchema, toolResultSchema } from "../tool.ts"
import { usageSchema } from "../usage.ts"
import { currentProtocolVersionSchema } from "../version.ts"
import { runEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runEventBase, type: z.literal(type), ...shape })
/** An event whose shape protocol 2 changed: v1's is read by v1/events.ts. */
const v2Event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({
    ...runEventBase,
    protocolVersion: currentProtocolVersionSchema,
    type: z.literal(type),
    ...shape,
  })

const userOrTool = z.discriminatedUnion("type", [userMessageSchema, toolMessageSchema])
const stop = { checkpoint: checkpointRecordSchema, step: stepSchema }

/** inputMessages come after the initial checkpoint's conversation: the model is sent both. */
export const startRunEventSchema = v2Event("startRun", {
  initialCheckpoint: checkpointRecordSchema,
  inputMessages: z.array(
    z.discriminatedUnion("type", [instructionMessageSchema, userMessageSchema, toolMessageSchema]),
  ),
})
/**
 * The model is sent the conversation so far: the first `messageCount` messages of the checkpoint this step ends
 * with (`perstack log --checkpoint <id> --messages` lists them). v1 repeated them here, every step.
 */
export const startGenerationEventSchema = v2Event("startGeneration", {
  messageCount: z.number().int().nonnegative(),
})
export const retryEventSchema = event("retry", {
  reason: z.string(),
  newMessages: z.array(
    z.discriminatedUnion("type", [userMessageSchema, expertMessageSchema, toolMessageSchema]),
  ),
  toolCalls: z.array(toolCallSchema).optional(),
  toolResults: z.array(toolResultSchema).optional(),
  usage: usageSchema,
})
export const callToolsEventSchema = event("callTools", {
  newMessage: expertMessageSchema,
  toolCalls: z.array(toolCallSchema),
  usage: usageSchema,
})
export const callInteractiveToolEventSchema = event("callInteractiveTool", {
  newMessage: expertMessageSchema,
  toolCall: toolCallSchema,
  usage: usageSchema,
})
export const callDelegateEventSchema = event("callDelegate", {
  newMessage: expertMessageSchema,
  toolCalls: z.array(toolCallSchema),
  usage: usageSchema,
})
export const resolveToolResultsEventSchema = event("resolveToolResults", {
  toolResults: z.array(toolResultSchema),
})
export const attemptCompletionEventSchema = event("attemptCompletion", { toolResult: toolResultSchema })
export const finishToolCallEventSchema = event("finishToolCall", { newMessages: z.array(userOrTool) })
export const resumeToolCallsEventSchema = event("resumeToolCalls", {
  pendingToolCalls: z.array(toolCallSchema),
  partialToolResults: z.array(toolResultSchema),
  /**
   * Calls that had started in a sandbox that died before they finished: they run again, and whatever side
   * effects they had half done may happen twice.
   */
  repeatedToolCallIds: z.array(z.string()).optional(),
})
export const finishAllToolCallsEventSchema = event("finishAllToolCalls", { newMessages: z.array(userOrTool) })
/** `nextCheckpoint` continues `checkpoint` with no new message: the next step's state, under the id it will end with. */
export const continueToNextStepEventSchema = v2Event("continueToNextStep", {
  ...stop,
  nextCheckpoint: checkpointRecordSchema,
})
export const stopRunByInteractiveToolEventSchema = v2Event("stopRunByInteractiveTool", stop)
export const stopRunByDelegateEventSchema = v2Event("stopRunByDelegate", stop)
export const stopRunByExceededMaxStepsEventSchema = v2Event("stopRunByExceededMaxSteps", stop)
export const stopRunByErrorEventSchema = v2Event("stopRunByError", { ...stop, error: runErrorSchema })
export const completeRunEventSchema = v2Event("completeRun", {
  ...stop,
  text: z.string(),
  usage: usageSchema,
})

export const stateEventSchemas = [
  startRunEventSchema,
  startGenerationEventSchema,
  retryEventSchema,
  callToolsEventSchema,
  callInteractiveToolEventSchema,
  callDelegateEventSchema,
  resolveToolResultsEventSchema,
  attemptCompletionEventSchema,
  finishToolCallEventSchema,
  resumeToolCallsEventSchema,
  finishAllToolCallsEventSchema,
  continueToNextStepEventSchema,
  stopRunByInteractiveToolEventSchema,
  stopRunByDelegateEventSchema,
  stopRunByExceededMaxStepsEventSchema,
  stopRunByErrorEventSchema,
  completeRunEventSchema,
] as const
