// An error that becomes one HTTP response: status, a stable code, a message safe to show, and extra headers.
import type { ErrorCode } from "../../runtime/errors/error-codes.ts"

export class HttpError extends Error {
  override readonly name = "HttpError"
  readonly status: number
  readonly code: ErrorCode
  readonly field: string | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { field?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = status
    this.code = code
    this.field = options.field
    this.headers = options.headers ?? {}
  }
}

/** A job that is not there, or belongs to another key: the same answer, so ids cannot be probed. */
export const jobNotFound = (jobId: string) => new HttpError(404, "job.notFound", `no job ${jobId}`)
