// Events the orchestrator adds about the sandboxes themselves; never printed by a sandbox.
import { z } from "zod"
import { sandboxBackendSchema } from "../config/perstack-toml.ts"
import { runtimeEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runtimeEventBase, type: z.literal(type), ...shape })

export const sandboxStartedEventSchema = event("sandboxStarted", {
  backend: sandboxBackendSchema,
  /** pid, container id or Kubernetes Job name */
  sandboxId: z.string(),
  image: z.string().optional(),
  /** where the run sits in the job's tree, so the tree can be rebuilt from the event logs alone */
  expertKey: z.string().min(1).optional(),
  parentRunId: z.string().min(1).optional(),
  parentToolCallId: z.string().min(1).optional(),
  /** the checkpoint this segment resumed or continued from */
  resumedFrom: z.string().min(1).optional(),
  /** a retry of a run whose sandbox died: the attempt (2, 3, ...) and the run it retries */
  attempt: z.number().int().min(2).optional(),
  retryOf: z.string().min(1).optional(),
})

export const sandboxExitedEventSchema = event("sandboxExited", {
  backend: sandboxBackendSchema,
  sandboxId: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().optional(),
  /** why it ended: its terminal event, or how it died */
  reason: z.enum(["completed", "crashed", "timeout", "cancelled", "oomKilled"]),
  stderrTail: z.string().optional(),
  durationMs: z.number().nonnegative(),
})

export const outputRejectedEventSchema = event("outputRejected", {
  reason: z.enum(["notJson", "invalidEvent", "lineTooLong", "notUtf8"]),
  /** the start of the offending line */
  sample: z.string(),
  byteLength: z.number().int().nonnegative(),
  /** what the schema expected, for invalidEvent */
  issues: z.string().optional(),
})

export const orchestratorEventSchemas = [
  sandboxStartedEventSchema,
  sandboxExitedEventSchema,
  outputRejectedEventSchema,
] as const
