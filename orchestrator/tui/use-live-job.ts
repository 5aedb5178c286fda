// Runs a job through the library's run() and folds its events into the live state, re-rendering at most ~20 times
// a second however fast the events come (a streamed answer is one event per few characters).
import { useCallback, useEffect, useRef, useState } from "react"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { type JobResult, type RunOptions, run } from "../api/run.ts"
import { initialLiveState, type LiveState, liveReducer, withNewQuery } from "./live-state.ts"

const RENDER_EVERY_MS = 50

export type JobOutcome = { result: JobResult } | { error: Error }

export interface LiveJob {
  state: LiveState
  /** starts run(request); resolves when the job stops, however it stops */
  start(request: RunOptions): Promise<JobOutcome>
  /** stops the running job gracefully; it stays resumable */
  stop(): void
  running: boolean
}

export function useLiveJob(options: { query?: string; signal?: AbortSignal }): LiveJob {
  const stateRef = useRef<LiveState>(initialLiveState(options.query))
  const [state, setState] = useState(stateRef.current)
  const [running, setRunning] = useState(false)
  const controller = useRef<AbortController | undefined>(undefined)
  const timer = useRef<NodeJS.Timeout | undefined>(undefined)

  const flush = useCallback(() => {
    timer.current = undefined
    setState(stateRef.current)
  }, [])
  const onEvent = useCallback(
    (event: PerstackEvent) => {
      stateRef.current = liveReducer(stateRef.current, event)
      timer.current ??= setTimeout(flush, RENDER_EVERY_MS)
    },
    [flush],
  )
  useEffect(() => () => clearTimeout(timer.current), [])

  const start = useCallback(
    async (request: RunOptions): Promise<JobOutcome> => {
      const abort = new AbortController()
      controller.current = abort
      stateRef.current = withNewQuery(stateRef.current, request.interactiveAnswer ? undefined : request.query)
      setState(stateRef.current)
      setRunning(true)
      const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal
      try {
        return { result: await run({ ...request, signal, onEvent }) }
      } catch (error) {
        return { error: error instanceof Error ? error : new Error(String(error)) }
      } finally {
        clearTimeout(timer.current)
        flush()
        setRunning(false)
        controller.current = undefined
      }
    },
    [onEvent, flush, options.signal],
  )
  const stop = useCallback(() => controller.current?.abort(), [])
  return { state, start, stop, running }
}
