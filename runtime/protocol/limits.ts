// How large what a sandbox prints may be. The orchestrator refuses a longer event line (it streams past it, never
// buffering it); the runtime keeps every line under it by capping what a step can carry, which the model is told.

/** The longest event line the orchestrator takes in. */
export const MAX_EVENT_LINE_BYTES = 32 * 1024 * 1024

/**
 * What one generation may carry (text, reasoning and tool-call arguments, as JSON): a step's events repeat it up to
 * four times (the call, the step, the checkpoint's new messages), and an ASCII-only stream (Kubernetes) may double
 * it, which keeps each line under MAX_EVENT_LINE_BYTES with room to spare. About half a million tokens: more than any
 * model's window.
 */
export const MAX_GENERATION_BYTES = 2 * 1024 * 1024

/** What the tool results of one step may carry together (as JSON); a step's events repeat them up to three times. */
export const MAX_STEP_RESULT_BYTES = 2 * 1024 * 1024

/** The runtime's exit code when an event was too large to print: the orchestrator ends the run, and does not retry. */
export const EXIT_EVENT_TOO_LARGE = 4

/** A byte count as people read it: 17.2 MB, 2 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`
  if (bytes >= 1_000) return `${(bytes / 1_000).toFixed(1)} kB`
  return `${bytes} bytes`
}
