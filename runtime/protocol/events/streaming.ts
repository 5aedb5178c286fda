// The 6 streaming events: reasoning and final-answer text as it arrives.
import { z } from "zod"
import { runEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runEventBase, type: z.literal(type), ...shape })

export const streamingEventSchemas = [
  event("startStreamingReasoning", {}),
  event("streamReasoning", { delta: z.string() }),
  event("completeStreamingReasoning", { text: z.string() }),
  event("startStreamingRunResult", {}),
  event("streamRunResult", { delta: z.string() }),
  event("completeStreamingRunResult", { text: z.string() }),
] as const
