// The one error class of the product: a stable string code, a cause, and retryability derived from the code.

/** Codes whose failures are worth retrying as they are. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "provider.rateLimited",
  "provider.serverError",
  "provider.timeout",
  "provider.connection",
  "provider.badResponse",
  "sandbox.crashed",
])

export class PerstackError extends Error {
  override readonly name: string = "PerstackError"
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  get isRetryable(): boolean {
    return RETRYABLE_CODES.has(this.code)
  }
}
