// Takes in a running sandbox's events: each checked against the run's history, its checkpoint stored before the
// event that names it, the calls acknowledged once stored, the steps counted; returns the terminal event, if any.
import type { EventOf, SandboxEvent } from "../../runtime/protocol/events/index.ts"
import { isTerminalEvent, type TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { type IntakeItem, type RejectedItem, readSandboxEvents } from "../intake/event-intake.ts"
import type { Sandbox } from "../sandbox/sandbox.ts"
import type { JobContext } from "./job-context.ts"
import type { RecoveryTracker } from "./recovery.ts"
import type { RunGuard } from "./run-guard.ts"
import { lineTooLongEnding, type SandboxEnder } from "./sandbox-ender.ts"
import type { SegmentCheckpoints } from "./segment-checkpoints.ts"
import type { SegmentLog } from "./segment-log.ts"
import type { StepLease } from "./step-budget.ts"

export interface SegmentIntake {
  job: JobContext
  spec: RunSpec
  budget: StepLease
  gatewayToken: string | undefined
  sandbox: Sandbox
  guard: RunGuard
  log: SegmentLog
  checkpoints: SegmentCheckpoints
  ender: SandboxEnder
  tracker: RecoveryTracker
  /**
   * Called once its model has begun to answer: the first event after its first startGeneration, but a terminal one.
   * Not at startGeneration itself: its request is then on its way through the orchestrator (the gateway).
   */
  onAnswering?: () => void
  /** set by the first startGeneration, for onAnswering */
  generating?: boolean
  /** called once the terminal event is taken: its checkpoint and the event stored, its step counted */
  onTerminal?: (terminal: TerminalEvent) => void
}

type EventItem = Extract<IntakeItem, { kind: "event" }>

export async function takeSandboxEvents(intake: SegmentIntake): Promise<TerminalEvent | undefined> {
  const { sandbox, spec, ender, guard } = intake
  let terminal: TerminalEvent | undefined
  for await (const read of readSandboxEvents(sandbox.stdout, {
    expect: { jobId: spec.jobId, runId: spec.runId },
  })) {
    ender.heard()
    // Ended by the orchestrator: what it prints while it is stopped changes nothing (it would read as cancelled).
    if (ender.ending) continue
    const item = guard.item(read)
    if (item.kind === "rejected") await takeRejected(intake, item)
    // A heartbeat is proof of life only: neither stored nor streamed.
    else if (item.event.type !== "heartbeat") {
      if (terminal) await intake.log.record(item.event, item.text)
      else {
        terminal = await takeEvent(intake, item)
        if (terminal) intake.onTerminal?.(terminal)
      }
    }
  }
  return terminal
}

async function takeRejected({ log, ender }: SegmentIntake, item: RejectedItem): Promise<void> {
  await log.recordRejected(item)
  if (item.reason === "lineTooLong") ender.end(lineTooLongEnding(item))
}

/** One event before the terminal one; returns it when it is the terminal one. */
async function takeEvent(intake: SegmentIntake, item: EventItem): Promise<TerminalEvent | undefined> {
  const { job, log, checkpoints, budget } = intake
  const event: SandboxEvent = item.event
  const unknownHistory = checkpoints.problem(event)
  if (unknownHistory) {
    const { byteLength, lineNumber } = item
    const sample = item.text.slice(0, 512)
    await log.recordRejected({
      kind: "rejected",
      reason: "invalidEvent",
      sample,
      byteLength,
      lineNumber,
      issues: unknownHistory,
    })
    return undefined
  }
  checkpoints.take(event)
  // A checkpoint is written before the event that names it, so no stored event points at a missing file.
  if (event.type === "continueToNextStep" || isTerminalEvent(event)) {
    await job.options.store.writeCheckpoint(event.checkpoint)
  }
  // Stored as the sandbox printed it.
  await log.record(event, item.text)
  intake.tracker.observe(event)
  if (intake.onAnswering) answering(intake, event)
  if (event.type === "callTools") await acknowledge(intake, event)
  if (event.type === "continueToNextStep") await job.stepFinished(event.step.usage, budget)
  if (!isTerminalEvent(event)) return undefined
  intake.ender.settle()
  if (event.step.finishedAt !== undefined) await job.stepFinished(event.step.usage, budget)
  return event
}

function answering(intake: SegmentIntake, event: SandboxEvent): void {
  if (event.type === "startGeneration") intake.generating = true
  else if (intake.generating && !isTerminalEvent(event)) {
    const answered = intake.onAnswering
    intake.onAnswering = undefined
    answered?.()
  }
}

/** The calls are stored (in the OS, so they survive this process dying) before the sandbox may run them. */
async function acknowledge({ log, sandbox, gatewayToken, job }: SegmentIntake, event: EventOf<"callTools">) {
  await log.flush()
  sandbox.acknowledge?.(event.id)
  // And through the gateway, for a sandbox with no way back in (a Kubernetes pod polls it).
  if (gatewayToken !== undefined) job.options.gateway?.acknowledge(gatewayToken, event.id)
}
