// Storage failures as clear errors: a full disk stops the job, and nothing half written is left behind.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

export function storageError(error: unknown, file: string): unknown {
  const code = (error as NodeJS.ErrnoException).code
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new PerstackError(
      "store.diskFull",
      `${file}: the disk is full. The job stopped; nothing was corrupted: free some space and continue it (--continue-job).`,
      { cause: error },
    )
  }
  return error
}

/** Space kept free in every store so that, when the disk fills, the job's final records can still be written. */
export const RESERVE_BYTES = 256 * 1024
