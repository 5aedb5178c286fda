// Tool calls the model made and the results they got back.
import { z } from "zod"
import { toolResultContentSchema } from "./message.ts"

export const toolCallSchema = z.strictObject({
  id: z.string().min(1).max(255),
  /** the skill that owns the tool: its key in `skills`, `@perstack/base`, or `delegate/<expertKey>` (the same on the call and its result) */
  skillName: z.string().min(1),
  toolName: z.string().min(1),
  args: z.record(z.string(), z.unknown()),
})
export type ToolCall = z.infer<typeof toolCallSchema>

export const toolResultSchema = z.strictObject({
  /** equals the tool call's id */
  id: z.string().min(1).max(255),
  skillName: z.string().min(1),
  toolName: z.string().min(1),
  result: z.array(toolResultContentSchema),
  /** the tool failed; the model sees the error text */
  isError: z.boolean().optional(),
})
export type ToolResult = z.infer<typeof toolResultSchema>
