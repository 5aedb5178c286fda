// Turns whatever a provider call threw into a ProviderError with a code, a status and a retry hint.

import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
import type { ErrorCode } from "../errors/error-codes.ts"
import { PerstackError } from "../errors/perstack-error.ts"

export class ProviderError extends PerstackError {
  override readonly name = "ProviderError"
  readonly statusCode: number | undefined
  /** from the provider's Retry-After (or retry-after-ms) header */
  readonly retryAfterMs: number | undefined

  constructor(options: {
    code: ErrorCode
    message: string
    statusCode?: number
    retryAfterMs?: number
    cause?: unknown
  }) {
    super(options.code, options.message, { cause: options.cause })
    this.statusCode = options.statusCode
    this.retryAfterMs = options.retryAfterMs
  }
}

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get("retry-after-ms"))
  if (Number.isFinite(ms) && ms >= 0 && headers?.get("retry-after-ms")) return ms
  const value = headers?.get("retry-after")
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

export function codeForStatus(status: number): ErrorCode {
  if (status === 429) return "provider.rateLimited"
  if (status === 408) return "provider.timeout"
  if (status === 409 || status >= 500) return "provider.serverError"
  if (status === 401 || status === 403) return "provider.auth"
  return "provider.badRequest"
}

/** Removes secrets (the API key) from text that may end up in an event. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 8)
    .reduce((out, secret) => out.split(secret).join("[redacted]"), text)
}

export function toProviderError(
  error: unknown,
  context: { timedOut: boolean; timeoutMs: number; secrets: readonly string[] },
): ProviderError {
  const clean = (message: string) => redact(message, context.secrets)
  // Checked first: an aborted stream ends quietly, and reading it then reports "ended early".
  if (context.timedOut) {
    return new ProviderError({
      code: "provider.timeout",
      message: `the provider did not finish answering within ${context.timeoutMs} ms`,
      cause: error,
    })
  }
  if (error instanceof ProviderError) return error
  if (error instanceof APIUserAbortError || (error instanceof Error && error.name === "AbortError")) {
    return new ProviderError({
      code: "provider.cancelled",
      message: "the generation was cancelled",
      cause: error,
    })
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new ProviderError({ code: "provider.timeout", message: clean(error.message), cause: error })
  }
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
    return new ProviderError({
      code: "provider.connection",
      message: clean(`${error.message}${cause}`),
      cause: error,
    })
  }
  if (error instanceof APIError && typeof error.status === "number") {
    // The orchestrator's gateway refusing a job whose token budget is spent: not the provider's doing.
    const budget = error.status === 402 && error.code === "budget.exceeded"
    return new ProviderError({
      code: budget ? "budget.exceeded" : codeForStatus(error.status),
      message: clean(error.message),
      statusCode: error.status,
      retryAfterMs: retryAfterMs(error.headers),
      cause: error,
    })
  }
  // undici ends a body whose connection dropped mid-stream with a plain TypeError("terminated").
  if (error instanceof TypeError && error.message === "terminated") {
    return new ProviderError({
      code: "provider.connection",
      message: "the connection dropped mid-answer",
      cause: error,
    })
  }
  // A stream that broke mid-way: malformed JSON in a chunk, for instance.
  const message = error instanceof Error ? error.message : String(error)
  return new ProviderError({
    code: "provider.badResponse",
    message: clean(`the provider's response could not be read: ${message}`),
    cause: error,
  })
}
