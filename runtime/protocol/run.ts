// The run record (`perstack/jobs/<jobId>/runs/<runId>/run.json`): one segment of one Expert in one sandbox.
import { z } from "zod"
import { runErrorSchema } from "./checkpoint.ts"
import { sandboxBackendSchema } from "./config/perstack-toml.ts"
import { statusSchema } from "./status.ts"
import { usageSchema } from "./usage.ts"
import { protocolVersionSchema } from "./version.ts"

export const runSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  id: z.string().min(1),
  jobId: z.string().min(1),
  expertKey: z.string().min(1),
  /** the run that delegated to this one, and the tool call it is answering */
  parentRunId: z.string().min(1).optional(),
  parentToolCallId: z.string().min(1).optional(),
  /** the checkpoint this segment resumed or continued from */
  resumedFrom: z.string().min(1).optional(),
  /** a retry of a run whose sandbox died: the attempt (2, 3, ...) and the run it retries */
  attempt: z.number().int().min(2).optional(),
  retryOf: z.string().min(1).optional(),
  status: statusSchema,
  sandbox: z.strictObject({
    backend: sandboxBackendSchema,
    id: z.string().optional(),
    image: z.string().optional(),
  }),
  usage: usageSchema,
  lastCheckpointId: z.string().optional(),
  error: runErrorSchema.optional(),
  startedAt: z.number().int(),
  finishedAt: z.number().int().optional(),
})
export type Run = z.infer<typeof runSchema>
