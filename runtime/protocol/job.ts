// The job record (`perstack/jobs/<jobId>/job.json`), written by the orchestrator alone.
import { z } from "zod"
import { sandboxBackendSchema } from "./config/perstack-toml.ts"
import { statusSchema } from "./status.ts"
import { usageSchema } from "./usage.ts"
import { protocolVersionSchema } from "./version.ts"

export const jobSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  id: z.string().min(1),
  status: statusSchema,
  coordinatorExpertKey: z.string().min(1),
  /** the query the job started with (a job can be started again from it when it died before its first step) */
  query: z.string().optional(),
  backend: sandboxBackendSchema,
  /** steps taken by every run of the job together */
  totalSteps: z.number().int().nonnegative(),
  maxSteps: z.number().int().positive().optional(),
  usage: usageSchema,
  startedAt: z.number().int(),
  finishedAt: z.number().int().optional(),
})
export type Job = z.infer<typeof jobSchema>
