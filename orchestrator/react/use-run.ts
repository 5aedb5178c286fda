// useRun: folds events, pushed by the caller or by useJobStream, into React state (upstream's shape): the activities
// (append-only, so Ink's <Static> can print each once), the streaming text, and whether the job is done.
import { useCallback, useMemo, useRef, useState } from "react"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import type { Activity } from "./activity.ts"
import {
  type ActivityProcessState,
  createInitialActivityProcessState,
  isRootComplete,
  jobStatusOf,
  processRunEventToActivity,
} from "./event-to-activity.ts"
import { initialStreamingState, reduceStreaming, type StreamingState } from "./streaming-state.ts"

export interface RunResult {
  /** accumulated, append-only */
  activities: Activity[]
  /** the text being streamed now, per run */
  streaming: StreamingState
  /** the root Expert gave its final answer or stopped for good */
  isComplete: boolean
  /** events processed */
  eventCount: number
  /** ours: the job's status as the events tell it; undefined before any run started */
  status: Status | undefined
  addEvent: (event: PerstackEvent) => void
  /** several events at once (a stored log): one render */
  appendHistoricalEvents: (events: readonly PerstackEvent[]) => void
  clearStreaming: () => void
  /** ours: forget everything, for another job */
  reset: () => void
}

type Snapshot = Pick<RunResult, "activities" | "streaming" | "isComplete" | "eventCount" | "status">

const initialSnapshot: Snapshot = {
  activities: [],
  streaming: initialStreamingState,
  isComplete: false,
  eventCount: 0,
  status: undefined,
}

export function useRun(): RunResult {
  const process = useRef<ActivityProcessState>(createInitialActivityProcessState())
  const [snapshot, setSnapshot] = useState<Snapshot>(initialSnapshot)

  const appendHistoricalEvents = useCallback((events: readonly PerstackEvent[]) => {
    if (events.length === 0) return
    const state = process.current
    const added: Activity[] = []
    for (const event of events) processRunEventToActivity(state, event, (activity) => added.push(activity))
    const status = jobStatusOf(state)
    const isComplete = isRootComplete(state)
    setSnapshot((previous) => {
      let streaming = previous.streaming
      for (const event of events) streaming = reduceStreaming(streaming, event)
      return {
        activities: added.length > 0 ? [...previous.activities, ...added] : previous.activities,
        streaming,
        isComplete,
        status,
        eventCount: previous.eventCount + events.length,
      }
    })
  }, [])
  const addEvent = useCallback(
    (event: PerstackEvent) => appendHistoricalEvents([event]),
    [appendHistoricalEvents],
  )
  const clearStreaming = useCallback(
    () => setSnapshot((previous) => ({ ...previous, streaming: initialStreamingState })),
    [],
  )
  const reset = useCallback(() => {
    process.current = createInitialActivityProcessState()
    setSnapshot(initialSnapshot)
  }, [])

  return useMemo(
    () => ({ ...snapshot, addEvent, appendHistoricalEvents, clearStreaming, reset }),
    [snapshot, addEvent, appendHistoricalEvents, clearStreaming, reset],
  )
}
