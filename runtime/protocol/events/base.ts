// The envelopes every event shares: run events name the Expert and step; runtime events do not.
import { z } from "zod"
import { protocolVersionSchema } from "../version.ts"

export const runtimeEventBase = {
  protocolVersion: protocolVersionSchema,
  id: z.string().min(1),
  timestamp: z.number().int(),
  jobId: z.string().min(1),
  runId: z.string().min(1),
}

export const runEventBase = {
  ...runtimeEventBase,
  expertKey: z.string().min(1),
  stepNumber: z.number().int().nonnegative(),
}
