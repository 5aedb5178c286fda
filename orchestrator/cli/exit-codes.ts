// The exit codes of `perstack` commands, which scripts rely on (the original exits 0 even when the run failed).
import type { Status } from "../../runtime/protocol/status.ts"

/** A job's final status, as its command's exit code. */
export const EXIT_CODES: Readonly<Record<Status, number>> = {
  completed: 0,
  stoppedByError: 1,
  stoppedByExceededMaxSteps: 3,
  stoppedByInteractiveTool: 4,
  stoppedByCancel: 130,
  // never a job's final status
  init: 1,
  proceeding: 1,
  stoppedByDelegate: 1,
}
/** bad invocation, config, environment or input: nothing ran */
export const EXIT_BAD_INPUT = 2
