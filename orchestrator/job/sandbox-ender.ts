// Ends a sandbox on the orchestrator's own account (stuck silent, or printing what no event may carry), once,
// keeping why and whether the run may be resumed in a fresh sandbox.
import type { WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import { formatBytes, MAX_EVENT_LINE_BYTES } from "../../runtime/protocol/limits.ts"
import type { RejectedItem } from "../intake/event-intake.ts"
import type { Sandbox } from "../sandbox/sandbox.ts"

export interface SandboxEnding {
  error: WrittenRunError
  resumable: boolean
}

export class SandboxEnder {
  /** set once the orchestrator has ended the sandbox */
  ending: SandboxEnding | undefined
  private lastHeard: number | undefined
  private settled = false
  private readonly watchdog: NodeJS.Timeout
  private readonly sandbox: Sandbox

  constructor(sandbox: Sandbox, silenceMs: number) {
    this.sandbox = sandbox
    // Armed by the first line: a sandbox that then prints nothing, not even its heartbeat, for the bound is stuck.
    this.watchdog = setInterval(
      () => {
        if (this.lastHeard === undefined || Date.now() - this.lastHeard <= silenceMs) return
        this.end({ error: silentError(Date.now() - this.lastHeard, silenceMs), resumable: true })
      },
      Math.min(1_000, Math.max(50, Math.floor(silenceMs / 8))),
    )
    this.watchdog.unref()
  }

  /** The sandbox printed a line. */
  heard(): void {
    this.lastHeard = Date.now()
  }

  /** The run printed its terminal event: it ended itself, and nothing ends it any more. */
  settle(): void {
    this.settled = true
  }

  end(ending: SandboxEnding): void {
    if (this.ending || this.settled) return
    this.ending = ending
    void this.sandbox.stop({ graceMs: 2_000 })
  }

  dispose(): void {
    clearInterval(this.watchdog)
  }
}

function silentError(silentMs: number, silenceMs: number): WrittenRunError {
  return {
    name: "SandboxSilent",
    code: "sandbox.silent",
    message: `the sandbox printed nothing for ${Math.round(silentMs / 1000)} s (not even its heartbeat; the bound is ${silenceMs / 1000} s): it was stopped as stuck`,
    isRetryable: true,
  }
}

/**
 * The runtime never prints a line over the bound; one that did may be waiting for an acknowledgement of it, which
 * would never come. The run ends, without a retry (it would print the same line again).
 */
export function lineTooLongEnding(item: RejectedItem): SandboxEnding {
  return {
    error: {
      name: "SandboxOutputTooLarge",
      code: "sandbox.outputTooLarge",
      message: `the sandbox printed a line of ${formatBytes(item.byteLength)} (line ${item.lineNumber}), over the ${formatBytes(MAX_EVENT_LINE_BYTES)} an event line may carry; the run was stopped`,
      isRetryable: false,
    },
    resumable: false,
  }
}
