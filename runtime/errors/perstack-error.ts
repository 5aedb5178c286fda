// The one error class of the product: a stable code (one of ERROR_CODES), a cause, and retryability derived from it.
import type { ErrorCode } from "./error-codes.ts"

/** Codes whose failures are worth retrying as they are. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "provider.rateLimited",
  "provider.serverError",
  "provider.timeout",
  "provider.connection",
  "provider.badResponse",
  "sandbox.crashed",
])

export class PerstackError extends Error {
  override readonly name: string = "PerstackError"
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  get isRetryable(): boolean {
    return RETRYABLE_CODES.has(this.code)
  }
}
