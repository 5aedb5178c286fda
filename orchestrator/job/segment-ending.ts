// How a segment ends when its sandbox did not say: the reason read off its exit, the terminal event written for
// it (its checkpoint stored first), the input to resume it from, and the run's final record.
import type { WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import type { TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import { EXIT_EVENT_TOO_LARGE } from "../../runtime/protocol/limits.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { RunInput, RunSpec } from "../../runtime/protocol/run-spec.ts"
import type { SandboxExit } from "../sandbox/sandbox.ts"
import type { JobContext } from "./job-context.ts"
import type { RecoveryTracker } from "./recovery.ts"
import type { RunGuard } from "./run-guard.ts"
import type { SandboxEnding } from "./sandbox-ender.ts"
import type { SegmentCheckpoints } from "./segment-checkpoints.ts"
import type { SegmentLog } from "./segment-log.ts"
import { synthesizeCrash } from "./synthesize-crash.ts"

/** The runtime exits with EXIT_EVENT_TOO_LARGE, having said why on its last stderr line. */
export function eventTooLargeEnding(exit: SandboxExit, guard: RunGuard): SandboxEnding | undefined {
  if (exit.exitCode !== EXIT_EVENT_TOO_LARGE) return undefined
  const said =
    exit.stderrTail
      .trim()
      .split("\n")
      .at(-1)
      ?.replace(/^perstack-runtime: /, "") ?? ""
  const error: WrittenRunError = {
    name: "EventTooLarge",
    code: "run.eventTooLarge",
    message: guard.text(said || "an event was too large to print"),
    isRetryable: false,
  }
  return { error, resumable: false }
}

/**
 * Writes the terminal event of a run whose sandbox ended without one: its checkpoint first, as for every event
 * that names one, so a listener that hears it (or a store read after this process dies) finds the file.
 */
export async function recordCrash(
  job: JobContext,
  options: { spec: RunSpec; guard: RunGuard; log: SegmentLog; exit: SandboxExit; tracker?: RecoveryTracker },
  error?: WrittenRunError,
): Promise<Extract<TerminalEvent, { type: "stopRunByError" }>> {
  const { ids, clock, store } = job.options
  const { spec, guard, log, exit } = options
  const terminal = guard.event(
    synthesizeCrash({
      spec,
      exit,
      lastCheckpoint: options.tracker?.lastCheckpoint,
      ids,
      clock,
      // An error of the orchestrator's own says why the run ended, whether or not the job is being stopped.
      stopCause: error ? undefined : job.stopCause,
      ...(error ? { error } : {}),
    }),
  )
  await store.writeCheckpoint(terminal.checkpoint)
  await log.record(terminal)
  return terminal
}

/** What a crashed run resumes from: its last checkpoint's calls, or, if it died before one, its own input. */
export async function recoveryAfterCrash(
  job: JobContext,
  spec: RunSpec,
  tracker: RecoveryTracker,
  checkpoints: SegmentCheckpoints,
): Promise<RunInput> {
  const input = await tracker.recoveryInput(job.options.config, spec.expert.key, async (id) =>
    checkpoints.messagesOf(id),
  )
  return input ?? spec.input
}

/** The run as it ended: the terminal checkpoint's status, the trusted token count, the error if it failed. */
export function finishedRun(run: Run, terminal: TerminalEvent, guard: RunGuard, finishedAt: number): Run {
  return {
    ...run,
    status: terminal.checkpoint.status,
    usage: guard.usage(terminal.checkpoint.usage),
    lastCheckpointId: terminal.checkpoint.id,
    ...(terminal.type === "stopRunByError" ? { error: terminal.error } : {}),
    finishedAt,
  }
}
