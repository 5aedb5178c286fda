// The job record (`perstack/jobs/<jobId>/job.json`), written by the orchestrator alone.
import { z } from "zod"
import { sandboxBackendSchema } from "./config/perstack-toml.ts"
import { statusSchema } from "./status.ts"
import { usageSchema } from "./usage.ts"
import { protocolVersionSchema } from "./version.ts"

/**
 * A file the orchestrator read to decide what the job runs (perstack.toml, perstack.lock, an env file), or would read
 * if it were there: its digest when the job started, so a continued job can tell whether its inputs changed.
 */
export const jobInputSchema = z.strictObject({
  /** relative to the workspace when inside it, else absolute */
  path: z.string().min(1),
  role: z.enum(["config", "lock", "env"]),
  /** `sha256:<hex>` of its bytes, null when there was no such file */
  digest: z.string().nullable(),
})
export type JobInput = z.infer<typeof jobInputSchema>

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
  /** what it was started (or last continued, with the changes accepted) with */
  inputs: z.array(jobInputSchema).optional(),
  startedAt: z.number().int(),
  finishedAt: z.number().int().optional(),
})
export type Job = z.infer<typeof jobSchema>
