// How a run segment is marked on a tree line, the same in `perstack log`, the history browser and the live TUI:
// what its status means once later segments are known, the glyph for it, and the colour the TUI draws it in.
import type { Status } from "../../runtime/protocol/status.ts"

export type RunMark =
  | "completed"
  | "failed"
  | "running"
  /** stopped for its delegates, and a later segment took their results */
  | "delegated"
  | "waitingForDelegates"
  /** stopped for the user, and a later segment took the answer */
  | "answered"
  | "waitingForUser"
  | "outOfSteps"
  | "stopped"

const GLYPHS: Readonly<Record<RunMark, string>> = {
  completed: "✓",
  failed: "✗",
  running: "●",
  delegated: "⎇",
  waitingForDelegates: "⏸",
  answered: "?",
  waitingForUser: "?",
  outOfSteps: "⊘",
  stopped: "■",
}

/** A live view animates a running segment instead of the still "●" a log shows. */
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/** What a segment's status means, given whether a later segment resumed from where it stopped. */
export function markOfStatus(status: Status, resumedLater: boolean): RunMark {
  switch (status) {
    case "completed":
      return "completed"
    case "stoppedByError":
      return "failed"
    case "stoppedByDelegate":
      return resumedLater ? "delegated" : "waitingForDelegates"
    case "stoppedByInteractiveTool":
      return resumedLater ? "answered" : "waitingForUser"
    case "stoppedByExceededMaxSteps":
      return "outOfSteps"
    case "stoppedByCancel":
      return "stopped"
    default:
      return "running"
  }
}

/** The glyph; with an animation frame, a running segment gets the spinner's frame. */
export function markGlyph(mark: RunMark, frame?: number): string {
  if (mark === "running" && frame !== undefined) return SPINNER[frame % SPINNER.length] ?? "⠋"
  return GLYPHS[mark]
}

export function markColor(mark: RunMark): string | undefined {
  switch (mark) {
    case "completed":
      return "green"
    case "failed":
      return "red"
    case "waitingForDelegates":
    case "waitingForUser":
      return "yellow"
    case "running":
      return "cyan"
    default:
      return undefined
  }
}
