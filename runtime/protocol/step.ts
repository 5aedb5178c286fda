// A step: one generation and the tool calls it made.
import { z } from "zod"
import { messageSchema } from "./message.ts"
import { toolCallSchema, toolResultSchema } from "./tool.ts"
import { usageSchema } from "./usage.ts"

export const stepSchema = z.strictObject({
  stepNumber: z.number().int().nonnegative(),
  inputMessages: z.array(messageSchema).optional(),
  newMessages: z.array(messageSchema),
  toolCalls: z.array(toolCallSchema).optional(),
  toolResults: z.array(toolResultSchema).optional(),
  pendingToolCalls: z.array(toolCallSchema).optional(),
  partialToolResults: z.array(toolResultSchema).optional(),
  usage: usageSchema,
  startedAt: z.number().int(),
  finishedAt: z.number().int().optional(),
})
export type Step = z.infer<typeof stepSchema>
