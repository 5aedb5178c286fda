// A job's events over SSE as an async iterable that reconnects with Last-Event-ID: nothing lost, nothing twice.
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import {
  type ApiJob,
  type StreamError,
  streamCompleteSchema,
  streamErrorSchema,
} from "../http-api/api-schema.ts"
import { type ApiError, type ApiResult, failure, success } from "./api-result.ts"
import { abortOrNetwork, type CallOptions, httpError, send, type Transport } from "./http-request.ts"
import { readSse } from "./sse-reader.ts"

export interface StreamOptions extends CallOptions {
  /** resume after this event (an id seen on an earlier stream) */
  lastEventId?: string
  /** reconnections in a row without receiving anything before giving up; default 10 */
  maxReconnects?: number
  /** first wait before a reconnection, ms (doubles up to 5 s; the server's `retry:` wins); default 250 */
  reconnectDelayMs?: number
}

export interface StreamEnd {
  /** the job as it was when the stream completed */
  job: ApiJob
  /** the `error` events received (a stored line that was not an event, the job's failure) */
  errors: StreamError[]
}

export interface JobStream {
  /** the job's events, in order; ends after the `complete` event, on a failure, or when the signal aborts */
  events: AsyncIterable<PerstackEvent>
  /** how the stream ended; settles when `events` ends */
  result: Promise<ApiResult<StreamEnd>>
  /** the id of the last event received: give it as `lastEventId` to resume later */
  readonly lastEventId: string | undefined
}

const streamPath = (jobId: string) => `/api/v1/jobs/${encodeURIComponent(jobId)}/stream`

async function connect(
  transport: Transport,
  jobId: string,
  lastEventId: string | undefined,
  options: StreamOptions,
): Promise<ApiResult<Response>> {
  // The timeout bounds waiting for the headers only: a stream is long by nature.
  const connectTimeout = new AbortController()
  const timer = setTimeout(() => connectTimeout.abort(), options.timeoutMs ?? transport.timeoutMs)
  const signals = options.signal ? [options.signal] : []
  const sent = await send(
    transport,
    streamPath(jobId),
    {
      method: "GET",
      headers: { Accept: "text/event-stream", ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) },
    },
    { signal: AbortSignal.any([...signals, connectTimeout.signal]), timeoutMs: 2 ** 31 - 1 },
  )
  clearTimeout(timer)
  if (!sent.ok) {
    if (connectTimeout.signal.aborted && !options.signal?.aborted)
      return failure({ type: "timeout", message: "the server did not start the stream in time" })
    return failure(
      sent.error.type === "abort" && !options.signal?.aborted
        ? { ...sent.error, type: "network" }
        : sent.error,
    )
  }
  const { response } = sent.data
  if (!response.ok) return failure(await httpError(response))
  if (!response.body) return failure({ type: "validation", message: "the stream response has no body" })
  return success(response)
}

export async function openJobStream(
  transport: Transport,
  jobId: string,
  options: StreamOptions = {},
): Promise<ApiResult<JobStream>> {
  let lastEventId = options.lastEventId
  const first = await connect(transport, jobId, lastEventId, options)
  if (!first.ok) return first
  let settle!: (result: ApiResult<StreamEnd>) => void
  const result = new Promise<ApiResult<StreamEnd>>((resolve) => {
    settle = resolve
  })
  const errors: StreamError[] = []
  const maxReconnects = options.maxReconnects ?? 10
  let delayMs = options.reconnectDelayMs ?? 250

  async function* events(): AsyncGenerator<PerstackEvent> {
    let response: Response | undefined = first.ok ? first.data : undefined
    let failures = 0
    let outcome: ApiResult<StreamEnd> = failure({ type: "abort", message: "the reader stopped early" })
    try {
      for (;;) {
        if (!response) {
          if (failures >= maxReconnects) {
            outcome = failure({
              type: "network",
              message: `the stream broke and ${maxReconnects} reconnections failed`,
            })
            return
          }
          failures++
          await sleep(delayMs, options.signal)
          delayMs = Math.min(5_000, delayMs * 2)
          if (options.signal?.aborted) {
            outcome = failure({ type: "abort", message: "the stream was aborted" })
            return
          }
          const again = await connect(transport, jobId, lastEventId, options)
          if (!again.ok) {
            // A refused reconnection (4xx) will not get better; a network blip might.
            if (again.error.type === "http" && (again.error.status ?? 500) < 500) {
              outcome = again
              return
            }
            if (again.error.type === "abort") {
              outcome = again
              return
            }
            continue
          }
          response = again.data
        }
        try {
          for await (const frame of readSse(response.body as ReadableStream<Uint8Array>)) {
            if (frame.retryMs !== undefined) delayMs = frame.retryMs
            if (frame.data === "" && frame.event === "message") continue
            failures = 0
            const parsed = parseFrame(frame.event, frame.data)
            if (!parsed.ok) {
              outcome = parsed
              return
            }
            // The id moves as the event is handed over: a reconnect resumes exactly after it.
            if (frame.id !== undefined && frame.id !== "") lastEventId = frame.id
            if (parsed.data.kind === "event") yield parsed.data.event
            else if (parsed.data.kind === "error") errors.push(parsed.data.error)
            else {
              outcome = success({ job: parsed.data.job, errors })
              return
            }
          }
        } catch (error) {
          if (options.signal?.aborted) {
            outcome = failure(abortOrNetwork(error, options.signal, new AbortController().signal))
            return
          }
        }
        // The body ended without `complete`, or broke: reconnect from the last id.
        response = undefined
      }
    } finally {
      settle(outcome)
    }
  }

  return success({
    events: events(),
    result,
    get lastEventId() {
      return lastEventId
    },
  })
}

type Parsed =
  | { kind: "event"; event: PerstackEvent }
  | { kind: "error"; error: StreamError }
  | { kind: "complete"; job: ApiJob }

function parseFrame(event: string, data: string): ApiResult<Parsed> {
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return failure(invalid(`an SSE "${event}" event whose data is not JSON`))
  }
  if (event === "message") {
    const parsed = perstackEventSchema.safeParse(json)
    return parsed.success
      ? success({ kind: "event", event: parsed.data })
      : failure(invalid(`a message that is not an event: ${parsed.error.issues[0]?.message}`))
  }
  if (event === "error") {
    const parsed = streamErrorSchema.safeParse(json)
    return parsed.success
      ? success({ kind: "error", error: parsed.data })
      : failure(invalid("a malformed error event"))
  }
  if (event === "complete") {
    const parsed = streamCompleteSchema.safeParse(json)
    return parsed.success
      ? success({ kind: "complete", job: parsed.data.job })
      : failure(invalid("a malformed complete event"))
  }
  // An event type this client does not know: a newer server; skip it.
  return success({
    kind: "error",
    error: { code: "event.unknown", message: `an SSE "${event}" event, skipped` },
  })
}

const invalid = (message: string): ApiError => ({ type: "validation", message })

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    signal?.addEventListener("abort", done, { once: true })
  })
}
