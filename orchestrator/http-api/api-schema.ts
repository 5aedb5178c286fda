// The Execution API's wire format (v1), shared by serve/ and client/: request bodies, job view, envelopes.
import { z } from "zod"
import { checkpointSchema } from "../../runtime/protocol/checkpoint.ts"
import { providerNameSchema } from "../../runtime/protocol/config/provider.ts"
import { jobSchema } from "../../runtime/protocol/job.ts"
import { statusSchema } from "../../runtime/protocol/status.ts"

/** The caller's own label for the application a job belongs to (the seeds' body carries one); a list filter. */
const applicationIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")

export const startJobBodySchema = z.strictObject({
  applicationId: applicationIdSchema.optional(),
  expertKey: z.string().min(1).max(256),
  query: z.string().min(1).max(1_000_000),
  provider: providerNameSchema.optional(),
  model: z.string().min(1).max(256).optional(),
})
export type StartJobBody = z.infer<typeof startJobBodySchema>

/** `GET /api/v1/jobs?applicationId=&expertKey=&status=`: each given one must match. */
export const jobListQuerySchema = z.strictObject({
  applicationId: applicationIdSchema.optional(),
  expertKey: z.string().min(1).max(256).optional(),
  status: z.union([z.literal("queued"), statusSchema]).optional(),
})
export type JobListQuery = z.infer<typeof jobListQuerySchema>

/** A follow-up query, or the answer to the pending interactive tool (optionally naming its call). */
export const continueJobBodySchema = z.union([
  z.strictObject({ query: z.string().max(1_000_000).optional() }),
  z.strictObject({
    interactiveAnswer: z.string().max(1_000_000),
    toolCallId: z.string().min(1).max(256).optional(),
  }),
])
export type ContinueJobBody = z.infer<typeof continueJobBodySchema>

/** A job as the API shows it: "queued" before the orchestrator has taken it, then the job store's status. */
export const apiJobSchema = z.strictObject({
  id: z.string().min(1),
  applicationId: z.string().optional(),
  expertKey: z.string().min(1),
  status: z.union([z.literal("queued"), statusSchema]),
  /** running in this server now (a queued job is not) */
  running: z.boolean(),
  /** 1-based place in the queue, when queued */
  queuePosition: z.number().int().positive().optional(),
  provider: providerNameSchema.optional(),
  model: z.string().optional(),
  createdAt: z.number().int(),
  /** the job store's record, once the job has started */
  record: jobSchema.optional(),
  /** why the job could not start (the orchestrator never took it) */
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
})
export type ApiJob = z.infer<typeof apiJobSchema>

export const apiErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    /** the request body's key path at fault, for a 400 */
    field: z.string().optional(),
  }),
})

export const jobResponseSchema = z.strictObject({ data: z.strictObject({ job: apiJobSchema }) })
export const jobListResponseSchema = z.strictObject({ data: z.strictObject({ jobs: z.array(apiJobSchema) }) })
export const checkpointListResponseSchema = z.strictObject({
  data: z.strictObject({ checkpoints: z.array(checkpointSchema) }),
})

/** The data of an SSE `error` event: a line of the store that is not a valid event, or the job's own failure. */
export const streamErrorSchema = z.strictObject({ code: z.string(), message: z.string() })
export type StreamError = z.infer<typeof streamErrorSchema>

/** The data of the final SSE `complete` event. */
export const streamCompleteSchema = z.strictObject({ job: apiJobSchema })
