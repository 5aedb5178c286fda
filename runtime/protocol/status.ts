// One status vocabulary for jobs, runs and checkpoints (the original's three drifted apart).
import { z } from "zod"

export const statusSchema = z.enum([
  /** created, no step taken yet */
  "init",
  /** inside the agent loop */
  "proceeding",
  /** finished with a final answer */
  "completed",
  /** waiting for the user's answer to an interactive tool */
  "stoppedByInteractiveTool",
  /** waiting for delegates' results */
  "stoppedByDelegate",
  /** the job's step budget is spent */
  "stoppedByExceededMaxSteps",
  /** a generation failed for good, or the sandbox crashed */
  "stoppedByError",
  /** stopped by the user (Ctrl-C, cancel) or the job timeout; resumable */
  "stoppedByCancel",
])
export type Status = z.infer<typeof statusSchema>

/** Statuses after which nothing more happens until someone resumes or continues. */
export const TERMINAL_STATUSES: ReadonlySet<Status> = new Set([
  "completed",
  "stoppedByInteractiveTool",
  "stoppedByExceededMaxSteps",
  "stoppedByError",
  "stoppedByCancel",
])
