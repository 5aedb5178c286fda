// The 17 expert state events, named as in the original so its users recognise every one.
import { z } from "zod"
import { checkpointSchema, runErrorSchema } from "../checkpoint.ts"
import {
  expertMessageSchema,
  instructionMessageSchema,
  messageSchema,
  toolMessageSchema,
  userMessageSchema,
} from "../message.ts"
import { stepSchema } from "../step.ts"
import { toolCallSchema, toolResultSchema } from "../tool.ts"
import { usageSchema } from "../usage.ts"
import { runEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runEventBase, type: z.literal(type), ...shape })

const userOrTool = z.discriminatedUnion("type", [userMessageSchema, toolMessageSchema])
const stop = { checkpoint: checkpointSchema, step: stepSchema }

export const startRunEventSchema = event("startRun", {
  initialCheckpoint: checkpointSchema,
  inputMessages: z.array(
    z.discriminatedUnion("type", [instructionMessageSchema, userMessageSchema, toolMessageSchema]),
  ),
})
export const startGenerationEventSchema = event("startGeneration", { messages: z.array(messageSchema) })
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
export const continueToNextStepEventSchema = event("continueToNextStep", {
  ...stop,
  nextCheckpoint: checkpointSchema,
})
export const stopRunByInteractiveToolEventSchema = event("stopRunByInteractiveTool", stop)
export const stopRunByDelegateEventSchema = event("stopRunByDelegate", stop)
export const stopRunByExceededMaxStepsEventSchema = event("stopRunByExceededMaxSteps", stop)
export const stopRunByErrorEventSchema = event("stopRunByError", { ...stop, error: runErrorSchema })
export const completeRunEventSchema = event("completeRun", { ...stop, text: z.string(), usage: usageSchema })

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
