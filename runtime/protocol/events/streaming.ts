// The 6 streaming events: reasoning and final-answer text as it arrives.
import { z } from "zod"
import { toolResultSchema } from "../tool.ts"
import { runEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runEventBase, type: z.literal(type), ...shape })

/**
 * A tool call finished, the moment it did (before its step ends): the orchestrator records it, so a run resumed
 * after a crash does not run a finished call again. Not a state transition: resolveToolResults still follows.
 */
export const recordToolResultEventSchema = event("recordToolResult", { toolResult: toolResultSchema })

export const streamingEventSchemas = [
  event("startStreamingReasoning", {}),
  event("streamReasoning", { delta: z.string() }),
  event("completeStreamingReasoning", { text: z.string() }),
  event("startStreamingRunResult", {}),
  event("streamRunResult", { delta: z.string() }),
  event("completeStreamingRunResult", { text: z.string() }),
  recordToolResultEventSchema,
] as const
