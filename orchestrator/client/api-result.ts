// What every client method returns: `{ ok: true, data }` or `{ ok: false, error }`, never a thrown error.

export type ApiErrorType = "http" | "network" | "timeout" | "validation" | "abort"

export interface ApiError {
  type: ApiErrorType
  message: string
  /** with "http": the response status and the API's error code */
  status?: number
  code?: string
  /** with "http" 400 or "validation": the key path at fault */
  field?: string
  /** with "http" 429 or 503: seconds the server asked to wait */
  retryAfter?: number
  cause?: unknown
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiError }

export const success = <T>(data: T): ApiResult<T> => ({ ok: true, data })
export const failure = <T = never>(error: ApiError): ApiResult<T> => ({ ok: false, error })
