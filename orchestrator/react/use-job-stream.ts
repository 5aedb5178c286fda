// useJobStream: one job's events as React state, from `perstack serve` (GET /api/v1/jobs/:id/stream, resumed with
// Last-Event-ID when the connection drops) or from any source the caller connects; the stream is aborted on unmount
// or when the job changes.
import { useCallback, useEffect, useRef, useState } from "react"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import type { ApiClient, ApiJob, StreamOptions } from "../client/api-client.ts"
import type { StreamError } from "../http-api/api-schema.ts"
import type { Activity } from "./activity.ts"
import { JobStreamError } from "./job-stream-error.ts"
import { initialStreamingState } from "./streaming-state.ts"
import { type RunResult, useRun } from "./use-run.ts"

/** Upstream's connector: any async iterable of the job's events, ended (or not) by the signal. */
export type EventSourceFactory = (
  jobId: string,
  signal: AbortSignal,
) => AsyncIterable<PerstackEvent> | Promise<AsyncIterable<PerstackEvent>>

export interface UseJobStreamOptions {
  /** nothing is streamed while it is null or undefined */
  jobId: string | null | undefined
  /** the Execution API's client (createApiClient): reconnects after a dropped connection without losing an event */
  client?: ApiClient
  /** or any source of events; used when no client is given */
  connect?: EventSourceFactory
  /** default true; false closes the stream (turned on again, it resumes after the last event received) */
  enabled?: boolean
  /** with a client: resume after this SSE id (from an earlier `lastEventId`) instead of from the job's start */
  lastEventId?: string
  /** each event as it arrives, for callers who keep or forward the raw events */
  onEvent?: (event: PerstackEvent) => void
  /** with a client: how it reconnects */
  reconnect?: Pick<StreamOptions, "maxReconnects" | "reconnectDelayMs">
}

export interface JobStreamResult
  extends Pick<RunResult, "activities" | "streaming" | "isComplete" | "eventCount"> {
  latestActivity: Activity | null
  /** the stream is open (a client reconnecting after a drop still counts as open) */
  isConnected: boolean
  /** why the stream could not open or broke for good; null otherwise */
  error: JobStreamError | null
  /** the stream ended: with a client, at the server's `complete` event (the job stopped, for now) */
  isDone: boolean
  /** the job's status: the server's when the stream completed, else as the events tell it, else the server's view */
  status: ApiJob["status"] | Status | undefined
  /** with a client: the job as the server last showed it */
  job: ApiJob | undefined
  /** with a client: the stream's `error` events (the job's failure, a stored line that was not an event) */
  errors: StreamError[]
  /** with a client: the SSE id of the last event received */
  lastEventId: string | undefined
  /** follows the job again after the last event received (after a `continue`, the job's new events) */
  resume: () => void
}

interface Connection {
  isConnected: boolean
  isDone: boolean
  error: JobStreamError | null
  job: ApiJob | undefined
  errors: StreamError[]
  lastEventId: string | undefined
}

const closed = (lastEventId: string | undefined): Connection => ({
  isConnected: false,
  isDone: false,
  error: null,
  job: undefined,
  errors: [],
  lastEventId,
})

export function useJobStream(options: UseJobStreamOptions): JobStreamResult {
  const { jobId, enabled = true } = options
  const run = useRun()
  const { appendHistoricalEvents, reset } = run
  const [connection, setConnection] = useState<Connection>(() => closed(options.lastEventId))
  const [generation, setGeneration] = useState(0)
  // Read when a stream opens: a new client or callback object each render must not reconnect.
  const latest = useRef(options)
  latest.current = options
  const position = useRef<{ jobId: string | null | undefined; lastEventId: string | undefined }>({
    jobId,
    lastEventId: options.lastEventId,
  })

  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is how resume() re-opens the stream
  useEffect(() => {
    if (position.current.jobId !== jobId) {
      position.current = { jobId, lastEventId: latest.current.lastEventId }
      reset()
      setConnection(closed(position.current.lastEventId))
    }
    if (!jobId || !enabled) return
    const controller = new AbortController()
    const { signal } = controller
    const update = (change: Partial<Connection> | ((previous: Connection) => Partial<Connection>)) => {
      if (signal.aborted) return
      setConnection((previous) => ({
        ...previous,
        ...(typeof change === "function" ? change(previous) : change),
      }))
    }
    const deliver = (event: PerstackEvent) => {
      latest.current.onEvent?.(event)
      appendHistoricalEvents([event])
    }
    update({ isDone: false, error: null })
    void follow({
      jobId,
      signal,
      options: latest.current,
      position: position.current,
      update,
      deliver,
    }).catch((error: unknown) => update({ isConnected: false, error: JobStreamError.from(error) }))
    return () => {
      controller.abort()
      setConnection((previous) => (previous.isConnected ? { ...previous, isConnected: false } : previous))
    }
  }, [jobId, enabled, generation, reset, appendHistoricalEvents])

  const resume = useCallback(() => setGeneration((n) => n + 1), [])
  // Rendered with a new job before the effect has started over: show nothing of the old one.
  if (position.current.jobId !== jobId) return { ...EMPTY, resume }
  const done = connection.isDone && connection.job
  return {
    activities: run.activities,
    streaming: run.streaming,
    isComplete: run.isComplete,
    eventCount: run.eventCount,
    latestActivity: run.activities.at(-1) ?? null,
    ...connection,
    status: done ? connection.job?.status : (run.status ?? connection.job?.status),
    resume,
  }
}

const EMPTY: Omit<JobStreamResult, "resume"> = {
  activities: [],
  streaming: initialStreamingState,
  isComplete: false,
  eventCount: 0,
  latestActivity: null,
  ...closed(undefined),
  status: undefined,
}

async function follow(context: {
  jobId: string
  signal: AbortSignal
  options: UseJobStreamOptions
  position: { lastEventId: string | undefined }
  update: (change: Partial<Connection> | ((previous: Connection) => Partial<Connection>)) => void
  deliver: (event: PerstackEvent) => void
}): Promise<void> {
  const { jobId, signal, options, position, update, deliver } = context
  const { client, connect } = options
  if (!client) {
    if (!connect) throw new JobStreamError("validation", "useJobStream needs a client or a connect function")
    const events = await connect(jobId, signal)
    if (signal.aborted) return
    update({ isConnected: true })
    for await (const event of events) {
      if (signal.aborted) return
      deliver(event)
    }
    update({ isConnected: false, isDone: !signal.aborted })
    return
  }
  // The server's view first (a queued job has no events yet); the stream's `complete` has the last word.
  void client.jobs.get(jobId, { signal }).then((response) => {
    if (response.ok) update((previous) => (previous.isDone ? {} : { job: response.data.data.job }))
  })
  const opened = await client.jobs.stream(jobId, {
    signal,
    ...(position.lastEventId ? { lastEventId: position.lastEventId } : {}),
    ...options.reconnect,
  })
  if (signal.aborted) return
  if (!opened.ok) throw JobStreamError.fromApi(opened.error)
  update({ isConnected: true })
  const stream = opened.data
  for await (const event of stream.events) {
    if (signal.aborted) return
    // The id moves as the event is handed over: reopening after it neither repeats nor skips an event.
    position.lastEventId = stream.lastEventId
    deliver(event)
    update({ lastEventId: stream.lastEventId })
  }
  const result = await stream.result
  if (signal.aborted) return
  if (!result.ok) throw JobStreamError.fromApi(result.error)
  update({ isConnected: false, isDone: true, job: result.data.job, errors: result.data.errors })
}
