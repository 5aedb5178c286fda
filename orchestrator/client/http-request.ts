// One JSON request of the client: timeout and caller's signal combined, every failure sorted into an ApiError type.
import type { z } from "zod"
import { apiErrorBodySchema } from "../http-api/api-schema.ts"
import { type ApiError, type ApiResult, failure, success } from "./api-result.ts"

export interface Transport {
  baseUrl: string
  apiKey: string
  fetch: typeof fetch
  timeoutMs: number
}

export interface CallOptions {
  signal?: AbortSignal
  /** overrides the client's timeout for this call */
  timeoutMs?: number
}

/** Sends the request; resolves to the Response (any status) or to why there is none. */
export async function send(
  transport: Transport,
  path: string,
  init: { method: string; body?: unknown; headers?: Record<string, string> },
  options: CallOptions & { keepTimeout?: boolean } = {},
): Promise<ApiResult<{ response: Response; timeout: AbortSignal; signal: AbortSignal }>> {
  if (!transport.apiKey) {
    return failure({
      type: "validation",
      message: "apiKey: missing (give createApiClient an apiKey, or set PERSTACK_API_KEY)",
      field: "apiKey",
    })
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? transport.timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  try {
    const response = await transport.fetch(new URL(path, transport.baseUrl), {
      method: init.method,
      headers: {
        Authorization: `Bearer ${transport.apiKey}`,
        Accept: "application/json",
        ...(init.body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal,
    })
    return success({ response, timeout, signal })
  } catch (error) {
    return failure(abortOrNetwork(error, options.signal, timeout))
  }
}

export function abortOrNetwork(
  error: unknown,
  caller: AbortSignal | undefined,
  timeout: AbortSignal,
): ApiError {
  if (caller?.aborted) return { type: "abort", message: "the call was aborted", cause: caller.reason }
  if (timeout.aborted) return { type: "timeout", message: "the server did not answer in time", cause: error }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const detail = cause?.code ?? cause?.message ?? (error as Error).message
  return { type: "network", message: `could not reach the server: ${detail}`, cause: error }
}

/** An error response as an ApiError, with the API's code, field and Retry-After when it sent them. */
export async function httpError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "")
  let body: z.infer<typeof apiErrorBodySchema> | undefined
  try {
    const parsed = apiErrorBodySchema.safeParse(JSON.parse(text))
    if (parsed.success) body = parsed.data
  } catch {
    // not JSON: a proxy's page
  }
  const retryAfter = Number(response.headers.get("retry-after"))
  return {
    type: "http",
    status: response.status,
    message: body?.error.message ?? `HTTP ${response.status} ${response.statusText}`,
    ...(body ? { code: body.error.code } : {}),
    ...(body?.error.field ? { field: body.error.field } : {}),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
  }
}

/** A JSON call: the body is read under the same timeout and checked against `schema`. */
export async function callJson<S extends z.ZodType>(
  transport: Transport,
  path: string,
  init: { method: string; body?: unknown },
  schema: S,
  options: CallOptions = {},
): Promise<ApiResult<z.infer<S>>> {
  const sent = await send(transport, path, init, options)
  if (!sent.ok) return sent
  const { response, timeout } = sent.data
  try {
    if (!response.ok) return failure(await httpError(response))
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return failure({ type: "validation", message: `the response to ${init.method} ${path} is not JSON` })
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const field = issue?.path.join(".") ?? ""
      return failure({
        type: "validation",
        message: `unexpected response to ${init.method} ${path}: ${field || "(root)"}: ${issue?.message}`,
        field,
      })
    }
    return success(parsed.data)
  } catch (error) {
    return failure(abortOrNetwork(error, options.signal, timeout))
  }
}
