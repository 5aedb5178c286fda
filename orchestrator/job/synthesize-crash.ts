// The terminal event a sandbox never printed: it died, so the orchestrator writes stopRunByError for it.
import type { Clock, IdGenerator } from "../../runtime/ids.ts"
import type { CheckpointRecord, WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import type { TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import { historyBaseOf, toCheckpointRecord } from "../../runtime/protocol/history-index.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import type { SandboxExit } from "../sandbox/sandbox.ts"
import type { StopCause } from "./job-context.ts"

export function synthesizeCrash(options: {
  spec: RunSpec
  exit: SandboxExit
  /** the last state the run reported; without one, the state it started from */
  lastCheckpoint: CheckpointRecord | undefined
  ids: IdGenerator
  clock: Clock
  stopCause: StopCause | undefined
  /** the error to record instead of one derived from the exit (a sandbox that could not start) */
  error?: WrittenRunError
}): Extract<TerminalEvent, { type: "stopRunByError" }> {
  const { spec, exit } = options
  const stopped = exit.reason === "cancelled" || exit.reason === "timeout" || options.stopCause !== undefined
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`
  const tail = exit.stderrTail.trim().split("\n").slice(-20).join("\n")
  const error: WrittenRunError = options.error
    ? options.error
    : stopped
      ? {
          name: "Cancelled",
          code: "run.cancelled",
          message: `the sandbox was stopped (${how}) before it finished its step`,
          isRetryable: true,
        }
      : exit.reason === "oomKilled"
        ? {
            name: "SandboxOutOfMemory",
            code: "sandbox.oomKilled",
            message: `${outOfMemory(spec.expert.key, exit.memoryLimitBytes)}${tail ? `; the end of its stderr:\n${tail}` : ""}`,
            isRetryable: true,
          }
        : {
            name: "SandboxCrashed",
            code: "sandbox.crashed",
            message: `the sandbox ended (${how}) without finishing the run${tail ? `; the end of its stderr:\n${tail}` : ""}`,
            isRetryable: true,
          }
  const from: CheckpointRecord =
    options.lastCheckpoint ??
    (spec.input.type === "query"
      ? {
          protocolVersion: PROTOCOL_VERSION,
          id: options.ids(),
          jobId: spec.jobId,
          runId: spec.runId,
          status: "init" as const,
          stepNumber: spec.stepNumber + 1,
          expert: { key: spec.expert.key, name: spec.expert.name, version: spec.expert.version },
          usage: emptyUsage(),
          ...(spec.input.delegatedBy ? { delegatedBy: spec.input.delegatedBy } : {}),
          history: { messageCount: 0, newMessages: [] },
        }
      : toCheckpointRecord(
          { ...spec.input.checkpoint, runId: spec.runId, stepNumber: spec.stepNumber + 1 },
          historyBaseOf(spec.input),
        ))
  const checkpoint: CheckpointRecord = {
    ...from,
    id: options.ids(),
    status: stopped ? "stoppedByCancel" : "stoppedByError",
    error,
  }
  const now = options.clock()
  return {
    protocolVersion: PROTOCOL_VERSION,
    id: options.ids(),
    type: "stopRunByError",
    timestamp: now,
    jobId: spec.jobId,
    runId: spec.runId,
    expertKey: spec.expert.key,
    stepNumber: checkpoint.stepNumber,
    checkpoint,
    step: { stepNumber: checkpoint.stepNumber, newMessages: [], usage: emptyUsage(), startedAt: now },
    error,
  }
}

/** The kernel's SIGKILL for memory, said as what it is and what to change. */
function outOfMemory(expertKey: string, limitBytes: number | undefined): string {
  const limit = limitBytes === undefined ? "" : ` of ${formatBytes(limitBytes)}`
  return `the sandbox ran out of memory: it went over its limit${limit} and was killed; raise [experts."${expertKey}".sandbox] memory in perstack.toml, or have the Expert's tools use less`
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`
  }
  return `${bytes} bytes`
}
