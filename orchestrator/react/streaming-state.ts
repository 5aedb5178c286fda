// The text being streamed right now, per run (upstream's StreamingState): reasoning and the final answer as they
// arrive. Latest only: a run's entry goes when the run stops.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { isTerminalEvent } from "../../runtime/protocol/events/terminal.ts"

export interface RunStreamingState {
  expertKey: string
  reasoning?: string
  runResult?: string
  isReasoningActive?: boolean
  isRunResultActive?: boolean
}

export interface StreamingState {
  /** by run id; several at once when delegates run in parallel */
  runs: Record<string, RunStreamingState>
}

export const initialStreamingState: StreamingState = { runs: {} }

/** The state after `event`: the same object when the event changes nothing, so React can skip a render. */
export function reduceStreaming(state: StreamingState, event: PerstackEvent): StreamingState {
  if (isTerminalEvent(event) || event.type === "sandboxExited") {
    if (!(event.runId in state.runs)) return state
    const { [event.runId]: _, ...runs } = state.runs
    return { runs }
  }
  const runOf = (expertKey: string): RunStreamingState => state.runs[event.runId] ?? { expertKey }
  let next: RunStreamingState
  switch (event.type) {
    case "startStreamingReasoning":
      next = { ...runOf(event.expertKey), reasoning: "", isReasoningActive: true }
      break
    case "streamReasoning": {
      const run = runOf(event.expertKey)
      next = { ...run, reasoning: (run.reasoning ?? "") + event.delta }
      break
    }
    case "completeStreamingReasoning":
      next = { ...runOf(event.expertKey), reasoning: event.text, isReasoningActive: false }
      break
    case "startStreamingRunResult":
      next = { expertKey: runOf(event.expertKey).expertKey, runResult: "", isRunResultActive: true }
      break
    case "streamRunResult": {
      const run = runOf(event.expertKey)
      next = { ...run, runResult: (run.runResult ?? "") + event.delta }
      break
    }
    case "completeStreamingRunResult":
      next = { ...runOf(event.expertKey), runResult: event.text, isRunResultActive: false }
      break
    default:
      return state
  }
  return { runs: { ...state.runs, [event.runId]: next } }
}
