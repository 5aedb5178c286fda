// The typed client of the Execution API: `createApiClient({ baseUrl, apiKey })`, every method an ApiResult.

import type { z } from "zod"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import {
  type ApiJob,
  type ContinueJobBody,
  checkpointListResponseSchema,
  continueJobBodySchema,
  type JobListQuery,
  jobListQuerySchema,
  jobListResponseSchema,
  jobResponseSchema,
  type StartJobBody,
  startJobBodySchema,
} from "../http-api/api-schema.ts"
import { type ApiResult, failure } from "./api-result.ts"
import { type CallOptions, callJson, type Transport } from "./http-request.ts"
import { type JobStream, openJobStream, type StreamOptions } from "./job-stream.ts"

export interface ApiClientOptions {
  /** where `perstack serve` listens; default PERSTACK_API_BASE_URL, else http://127.0.0.1:8080 (serve's default) */
  baseUrl?: string
  /** default PERSTACK_API_KEY; without either, every call is a "validation" error naming it */
  apiKey?: string | undefined
  /** per call, ms (a stream's timeout covers its connection only); default 30 s */
  timeoutMs?: number
  /** default: the global fetch */
  fetch?: typeof fetch
}

/** The API's response bodies, as the server sends them: `{ data: { job } }` and so on. */
export type JobResponse = z.infer<typeof jobResponseSchema>
export type JobListResponse = z.infer<typeof jobListResponseSchema>

export interface ApiClient {
  jobs: {
    start(body: StartJobBody, options?: CallOptions): Promise<ApiResult<JobResponse>>
    get(jobId: string, options?: CallOptions): Promise<ApiResult<JobResponse>>
    /** newest first; `{ applicationId, expertKey, status }` keep the jobs that match every one given */
    list(filter?: JobListQuery, options?: CallOptions): Promise<ApiResult<JobListResponse>>
    checkpoints(
      jobId: string,
      options?: CallOptions,
    ): Promise<ApiResult<{ data: { checkpoints: Checkpoint[] } }>>
    stream(jobId: string, options?: StreamOptions): Promise<ApiResult<JobStream>>
    /** `{ query }` for a follow-up, `{ interactiveAnswer, toolCallId? }` to answer the pending interactive tool */
    continue(jobId: string, body: ContinueJobBody, options?: CallOptions): Promise<ApiResult<JobResponse>>
    cancel(jobId: string, options?: CallOptions): Promise<ApiResult<JobResponse>>
  }
}

export type { ApiError, ApiErrorType, ApiResult } from "./api-result.ts"
export type { JobStream, StreamEnd, StreamOptions } from "./job-stream.ts"
export type { ApiJob, JobListQuery }

const DEFAULT_BASE_URL = "http://127.0.0.1:8080"

const jobPath = (jobId: string, action = "") => `/api/v1/jobs/${encodeURIComponent(jobId)}${action}`

export function createApiClient(options: ApiClientOptions): ApiClient {
  const transport: Transport = {
    baseUrl: options.baseUrl ?? process.env.PERSTACK_API_BASE_URL ?? DEFAULT_BASE_URL,
    apiKey: options.apiKey ?? process.env.PERSTACK_API_KEY ?? "",
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? 30_000,
  }
  /** Checked here before sending, so a wrong call is a "validation" error naming the field. */
  const checked = <S extends z.ZodType>(schema: S, body: unknown): ApiResult<z.infer<S>> => {
    const parsed = schema.safeParse(body)
    if (parsed.success) return { ok: true, data: parsed.data }
    const issue = parsed.error.issues[0]
    const field = issue?.path.join(".") ?? ""
    return failure({ type: "validation", message: `${field || "the body"}: ${issue?.message}`, field })
  }
  return {
    jobs: {
      start: async (body, call) => {
        const valid = checked(startJobBodySchema, body)
        if (!valid.ok) return valid
        return callJson(
          transport,
          "/api/v1/jobs",
          { method: "POST", body: valid.data },
          jobResponseSchema,
          call,
        )
      },
      get: (jobId, call) => callJson(transport, jobPath(jobId), { method: "GET" }, jobResponseSchema, call),
      list: (filter, call) => {
        const valid = checked(jobListQuerySchema, filter ?? {})
        if (!valid.ok) return Promise.resolve(valid)
        const query = new URLSearchParams(
          Object.entries(valid.data).filter((entry): entry is [string, string] => entry[1] !== undefined),
        ).toString()
        return callJson(
          transport,
          `/api/v1/jobs${query ? `?${query}` : ""}`,
          { method: "GET" },
          jobListResponseSchema,
          call,
        )
      },
      checkpoints: (jobId, call) =>
        callJson(
          transport,
          jobPath(jobId, "/checkpoints"),
          { method: "GET" },
          checkpointListResponseSchema,
          call,
        ),
      stream: (jobId, streamOptions) => openJobStream(transport, jobId, streamOptions),
      continue: async (jobId, body, call) => {
        const valid = checked(continueJobBodySchema, body)
        if (!valid.ok) return valid
        return callJson(
          transport,
          jobPath(jobId, "/continue"),
          { method: "POST", body: valid.data },
          jobResponseSchema,
          call,
        )
      },
      cancel: (jobId, call) =>
        callJson(transport, jobPath(jobId, "/cancel"), { method: "POST", body: {} }, jobResponseSchema, call),
    },
  }
}
