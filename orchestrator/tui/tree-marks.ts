// How a live run's state is drawn on its tree line.
import type { LiveRunState } from "./live-state.ts"

export const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

export function stateMark(state: LiveRunState, frame: number): string {
  switch (state) {
    case "starting":
    case "running":
      return SPINNER[frame % SPINNER.length] ?? "⠋"
    case "waitingForDelegates":
      return "⏸"
    case "waitingForUser":
      return "?"
    case "completed":
      return "✓"
    case "failed":
      return "✗"
    case "outOfSteps":
      return "⊘"
    case "stopped":
      return "■"
  }
}

export function stateColor(state: LiveRunState): string | undefined {
  switch (state) {
    case "completed":
      return "green"
    case "failed":
      return "red"
    case "waitingForDelegates":
    case "waitingForUser":
      return "yellow"
    case "starting":
    case "running":
      return "cyan"
    default:
      return undefined
  }
}
