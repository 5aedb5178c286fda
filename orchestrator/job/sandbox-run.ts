// Runs one segment in a sandbox: start it, take in its events, persist them, and return its terminal event.

import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { RunInput, RunSpec } from "../../runtime/protocol/run-spec.ts"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { egressDomains } from "../gateway/domain-allowlist.ts"
import type { Sandbox, SandboxExit, SandboxServices } from "../sandbox/sandbox.ts"
import type { JobContext } from "./job-context.ts"
import { RecoveryTracker } from "./recovery.ts"
import { runGuardFor } from "./run-guard.ts"
import { expertOf } from "./run-spec-factory.ts"
import { SandboxEnder } from "./sandbox-ender.ts"
import { SegmentCheckpoints } from "./segment-checkpoints.ts"
import { eventTooLargeEnding, finishedRun, recordCrash, recoveryAfterCrash } from "./segment-ending.ts"
import { takeSandboxEvents } from "./segment-intake.ts"
import { openSegmentLog } from "./segment-log.ts"
import { NEVER_STARTED, type SegmentAccess, startSegmentSandbox } from "./segment-start.ts"
import type { StepLease } from "./step-budget.ts"

export interface SegmentLinks {
  parentRunId?: string
  parentToolCallId?: string
  resumedFrom?: string
  /** a retry of a run whose sandbox died */
  attempt?: number
  retryOf?: string
}

export interface SegmentHooks {
  /** once the segment's sandbox has started (taken from a warm pool, or launched) */
  onStarted?: (() => void) | undefined
  /** once its model has begun to answer (see SegmentIntake.onAnswering) */
  onAnswering?: (() => void) | undefined
}

export interface SegmentResult {
  terminal: TerminalEvent
  /** the terminal event's checkpoint, whole (the event holds its record) */
  checkpoint: Checkpoint
  /** set when the sandbox died before its terminal event: how to resume it */
  recovery?: RunInput
}

export async function runInSandbox(
  job: JobContext,
  plainSpec: RunSpec,
  links: SegmentLinks,
  budget: StepLease,
  hooks: SegmentHooks = {},
): Promise<SegmentResult> {
  const { gateway, egressProxy } = job.options
  // Through the gateway: the run talks to it with a token of its own, revoked when its sandbox has ended. So does
  // it to the egress proxy, which lets it reach its Expert's allowed domains and nothing else.
  const gatewayToken = gateway?.issueToken(plainSpec.runId, { model: plainSpec.model })
  const domains = egressProxy ? egressDomains(expertOf(job.options.config, plainSpec.expert.key)) : []
  const proxyToken = domains.length > 0 ? egressProxy?.issueToken(plainSpec.runId, domains) : undefined
  const spec: RunSpec = gateway ? { ...plainSpec, llmBaseUrl: gateway.url } : plainSpec
  const services: SandboxServices | undefined = gateway
    ? {
        gateway: gateway.url,
        ...(egressProxy ? { proxy: egressProxy.url } : {}),
        ...(proxyToken !== undefined ? { proxyToken } : {}),
      }
    : undefined
  const revoke = () => {
    if (gatewayToken !== undefined) gateway?.revokeToken(gatewayToken)
    if (proxyToken !== undefined) egressProxy?.revokeToken(proxyToken)
  }
  let finished: Promise<unknown> | undefined
  try {
    const segment = await runSegment(job, spec, links, budget, { gatewayToken, services }, hooks)
    finished = segment.finished
    return segment.result
  } finally {
    // Once its sandbox has ended, which may be after its result went back (see runSegment).
    if (finished) void finished.then(revoke, revoke)
    else revoke()
  }
}

async function runSegment(
  job: JobContext,
  spec: RunSpec,
  links: SegmentLinks,
  budget: StepLease,
  access: SegmentAccess,
  hooks: SegmentHooks,
): Promise<{ result: SegmentResult; finished: Promise<unknown> }> {
  const { store, clock } = job.options
  let run = startingRun(job, spec, links)
  await store.writeRun(run)
  // Nothing of the sandbox's is stored or streamed before it has passed the guard (secrets scrubbed, tokens counted).
  const guard = await runGuardFor(job, spec, links.resumedFrom, access.gatewayToken)
  const log = openSegmentLog(job, spec, guard)
  const checkpoints = new SegmentCheckpoints(spec)
  const started = await startSegmentSandbox(job, spec, links, access, guard)
  if ("failed" in started) {
    const terminal = await recordCrash(job, { spec, guard, log, exit: NEVER_STARTED }, started.failed)
    await log.close()
    await store.writeRun(finishedRun(run, terminal, guard, clock()))
    return {
      result: { terminal, checkpoint: checkpoints.whole(terminal.checkpoint) },
      finished: Promise.resolve(),
    }
  }
  const { sandbox } = started
  hooks.onStarted?.()
  const untrack = job.track(sandbox)
  run = { ...run, sandbox: { backend: sandbox.backend, id: sandbox.id, ...imageOf(sandbox) } }
  await store.writeRun(run)
  await log.recordOwn("sandboxStarted", {
    backend: sandbox.backend,
    sandboxId: sandbox.id,
    ...imageOf(sandbox),
    expertKey: spec.expert.key,
    ...links,
  })

  const ender = new SandboxEnder(sandbox, job.options.settings.silenceTimeoutMs)
  const tracker = new RecoveryTracker()
  const intake = {
    job,
    spec,
    budget,
    gatewayToken: access.gatewayToken,
    sandbox,
    guard,
    log,
    checkpoints,
    ...(hooks.onAnswering ? { onAnswering: hooks.onAnswering } : {}),
  }
  // The terminal event taken (its checkpoint and the event stored, its step counted) is the segment's result: its
  // parent goes on from there while the sandbox exits and its last records are written (a delegate's answer reaches
  // the resumed parent without waiting for its process to end). The job counts that tail until it is written.
  let early: SegmentResult | undefined
  let taken = (_result: SegmentResult) => {}
  const terminalTaken = new Promise<SegmentResult>((resolve) => {
    taken = resolve
  })
  const onTerminal = (terminal: TerminalEvent) => {
    early = { terminal, checkpoint: checkpoints.whole(terminal.checkpoint) }
    taken(early)
  }
  const finished = (async (): Promise<SegmentResult> => {
    let terminal: TerminalEvent | undefined
    let exit: SandboxExit
    try {
      terminal = await takeSandboxEvents({ ...intake, ender, tracker, onTerminal })
    } finally {
      exit = guard.exit(await sandbox.wait())
      ender.dispose()
      untrack()
    }
    await log.recordOwn("sandboxExited", {
      backend: sandbox.backend,
      sandboxId: sandbox.id,
      ...exitPayload(exit, terminal),
    })

    let recovery: RunInput | undefined
    if (!terminal) {
      const ending = ender.ending ?? eventTooLargeEnding(exit, guard)
      // What the orchestrator ended is a crash with its reason, not the cancellation its stop looks like.
      const endedBy = job.stopCause ? undefined : ending
      terminal = await recordCrash(
        job,
        { spec, guard, log, exit: endedBy ? { ...exit, reason: "crashed" } : exit, tracker },
        endedBy?.error,
      )
      if (terminal.checkpoint.status === "stoppedByError" && (endedBy?.resumable ?? true)) {
        recovery = await recoveryAfterCrash(job, spec, tracker, checkpoints)
      }
    }
    await log.close()
    await store.writeRun(finishedRun(run, terminal, guard, clock()))
    if (early) return early
    return { terminal, checkpoint: checkpoints.whole(terminal.checkpoint), ...(recovery ? { recovery } : {}) }
  })()
  const result = await Promise.race([finished, terminalTaken])
  if (result === early) job.background(finished)
  return { result, finished }
}

/** The run as it starts, before its sandbox does. */
function startingRun(job: JobContext, spec: RunSpec, links: SegmentLinks): Run {
  return {
    protocolVersion: PROTOCOL_VERSION,
    id: spec.runId,
    jobId: spec.jobId,
    expertKey: spec.expert.key,
    ...links,
    status: "proceeding",
    sandbox: { backend: job.options.backend.name },
    usage: emptyUsage(),
    startedAt: job.options.clock(),
  }
}

const imageOf = (sandbox: Sandbox) => (sandbox.image ? { image: sandbox.image } : {})

function exitPayload(exit: SandboxExit, terminal: TerminalEvent | undefined) {
  // An exit without the terminal event is a crash, whatever the exit code says.
  const reason = exit.reason === "completed" && !terminal ? "crashed" : exit.reason
  return {
    exitCode: exit.exitCode,
    ...(exit.signal ? { signal: exit.signal } : {}),
    reason,
    ...(reason === "completed" || exit.stderrTail === "" ? {} : { stderrTail: exit.stderrTail }),
    durationMs: exit.durationMs,
  }
}
