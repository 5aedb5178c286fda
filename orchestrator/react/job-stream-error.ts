// Why useJobStream has no stream: an Error with the client's error type as its code, and whether trying again helps.
import type { ApiError, ApiErrorType } from "../client/api-client.ts"

export class JobStreamError extends Error {
  override readonly name = "JobStreamError"
  /** the client's error type: "http", "network", "timeout", "validation" or "abort" */
  readonly code: ApiErrorType
  /** with "http": the response status */
  readonly status: number | undefined
  readonly retryable: boolean

  constructor(code: ApiErrorType, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status
    // A refused request (4xx but 429) will not get better by itself; a network blip or a busy server might.
    this.retryable =
      code === "network" ||
      code === "timeout" ||
      (code === "http" && (options.status === 429 || (options.status ?? 0) >= 500))
  }

  static fromApi(error: ApiError): JobStreamError {
    return new JobStreamError(error.type, error.message, {
      ...(error.status !== undefined ? { status: error.status } : {}),
      cause: error.cause ?? error,
    })
  }

  /** What a caller's connect function threw. */
  static from(error: unknown): JobStreamError {
    if (error instanceof JobStreamError) return error
    const message = error instanceof Error ? error.message : String(error)
    return new JobStreamError("network", message, { cause: error })
  }
}
