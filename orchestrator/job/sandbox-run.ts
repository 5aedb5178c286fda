// Runs one segment in a sandbox: start it, take in its events, persist them, and return its terminal event.

import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint, RunError } from "../../runtime/protocol/checkpoint.ts"
import type { PerstackEvent, SandboxEvent } from "../../runtime/protocol/events/index.ts"
import { isTerminalEvent, type TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import { EXIT_EVENT_TOO_LARGE, formatBytes, MAX_EVENT_LINE_BYTES } from "../../runtime/protocol/limits.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { RunInput, RunSpec } from "../../runtime/protocol/run-spec.ts"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { egressDomains } from "../gateway/domain-allowlist.ts"
import { readSandboxEvents } from "../intake/event-intake.ts"
import { outputRejectedEvent } from "../intake/output-rejected.ts"
import type { Sandbox, SandboxExit, SandboxServices } from "../sandbox/sandbox.ts"
import type { JobContext } from "./job-context.ts"
import { prewarmsQueued } from "./prewarm.ts"
import { RecoveryTracker } from "./recovery.ts"
import { runGuardFor } from "./run-guard.ts"
import { expertOf } from "./run-spec-factory.ts"
import { sandboxShape } from "./sandbox-shape.ts"
import { SegmentCheckpoints } from "./segment-checkpoints.ts"
import type { StepLease } from "./step-budget.ts"
import { synthesizeCrash } from "./synthesize-crash.ts"

export interface SegmentLinks {
  parentRunId?: string
  parentToolCallId?: string
  resumedFrom?: string
  /** a retry of a run whose sandbox died */
  attempt?: number
  retryOf?: string
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
  try {
    return await runSegment(job, spec, links, budget, { gatewayToken, services })
  } finally {
    if (gatewayToken !== undefined) gateway?.revokeToken(gatewayToken)
    if (proxyToken !== undefined) egressProxy?.revokeToken(proxyToken)
  }
}

async function runSegment(
  job: JobContext,
  spec: RunSpec,
  links: SegmentLinks,
  budget: StepLease,
  { gatewayToken, services }: { gatewayToken: string | undefined; services: SandboxServices | undefined },
): Promise<SegmentResult> {
  const { store, backend, clock, ids } = job.options
  const base = { protocolVersion: PROTOCOL_VERSION, jobId: spec.jobId, runId: spec.runId }
  let run: Run = {
    protocolVersion: PROTOCOL_VERSION,
    id: spec.runId,
    jobId: spec.jobId,
    expertKey: spec.expert.key,
    ...links,
    status: "proceeding",
    sandbox: { backend: backend.name },
    usage: emptyUsage(),
    startedAt: clock(),
  }
  await store.writeRun(run)
  const log = store.eventLog(spec.jobId, spec.runId)
  // Nothing of the sandbox's is stored or streamed before it has passed the guard (secrets scrubbed, tokens counted).
  const guard = await runGuardFor(job, spec, links.resumedFrom, gatewayToken)
  // Awaits only when the log or the listener asks to (backpressure): a sandbox may print a million events.
  const record = async (made: PerstackEvent, text?: string) => {
    const event = text === undefined ? guard.event(made) : made
    const stored = text === undefined ? log.append(event) : log.appendLine(text)
    if (stored) await stored
    const emitted = job.emit(event, text)
    if (emitted) await emitted
  }
  const orchestratorEvent = <T extends object>(type: string, payload: T) =>
    ({ ...base, id: ids(), timestamp: clock(), type, ...payload }) as unknown as PerstackEvent
  const checkpoints = new SegmentCheckpoints(spec)

  const silenceMs = job.options.settings.silenceTimeoutMs
  const {
    expert,
    env,
    perRunEnv,
    protectedPaths: guarded,
  } = await sandboxShape(job, spec.expert.key, gatewayToken)
  const masked = guarded.filter((entry) => entry.mode === "mask").map((entry) => entry.path)
  let sandbox: Sandbox
  try {
    await prewarmsQueued(job)
    sandbox = await backend.start({
      spec: masked.length > 0 ? { ...spec, maskedPaths: masked } : spec,
      env,
      protectedPaths: guarded,
      workspace: job.options.workspace,
      ...(gatewayToken !== undefined ? { envIsPerRun: true, perRunEnv } : {}),
      ...(expert.sandbox ? { settings: expert.sandbox } : {}),
      ...(services ? { services } : {}),
      labels: {
        jobId: spec.jobId,
        runId: spec.runId,
        ...(links.parentRunId ? { parentRunId: links.parentRunId } : {}),
      },
    })
  } catch (error) {
    // A sandbox that cannot start (a missing image, no engine) is a failed run: its parent hears of it.
    const failed: RunError = {
      name: "SandboxStartFailed",
      code: error instanceof PerstackError ? error.code : "sandbox.startFailed",
      message: guard.text(
        `the sandbox could not start: ${error instanceof Error ? error.message : String(error)}`,
      ),
      isRetryable: false,
    }
    const exit = { exitCode: null, reason: "crashed" as const, stderrTail: "", durationMs: 0 }
    const terminal = synthesizeCrash({
      spec,
      exit,
      lastCheckpoint: undefined,
      ids,
      clock,
      stopCause: undefined,
      error: failed,
    })
    await store.writeCheckpoint(terminal.checkpoint)
    await record(terminal)
    await log.close()
    await store.writeRun({
      ...run,
      status: "stoppedByError",
      lastCheckpointId: terminal.checkpoint.id,
      error: failed,
      finishedAt: clock(),
    })
    return { terminal, checkpoint: checkpoints.whole(terminal.checkpoint) }
  }
  const untrack = job.track(sandbox)
  run = {
    ...run,
    sandbox: { backend: sandbox.backend, id: sandbox.id, ...(sandbox.image ? { image: sandbox.image } : {}) },
  }
  await store.writeRun(run)
  await record(
    orchestratorEvent("sandboxStarted", {
      backend: sandbox.backend,
      sandboxId: sandbox.id,
      ...(sandbox.image ? { image: sandbox.image } : {}),
      expertKey: spec.expert.key,
      ...links,
    }),
  )

  let terminal: TerminalEvent | undefined
  /** why the orchestrator ended the sandbox itself, and whether the run may be resumed in a fresh one */
  let ended: { error: RunError; resumable: boolean } | undefined
  const endSandbox = (error: RunError, resumable: boolean) => {
    if (ended || terminal) return
    ended = { error, resumable }
    void sandbox.stop({ graceMs: 2_000 })
  }
  // Armed by the first line: a sandbox that then prints nothing, not even its heartbeat, for the bound is stuck.
  let lastHeard: number | undefined
  const watchdog = setInterval(
    () => {
      if (lastHeard === undefined || Date.now() - lastHeard <= silenceMs) return
      endSandbox(
        {
          name: "SandboxSilent",
          code: "sandbox.silent",
          message: `the sandbox printed nothing for ${Math.round((Date.now() - lastHeard) / 1000)} s (not even its heartbeat; the bound is ${silenceMs / 1000} s): it was stopped as stuck`,
          isRetryable: true,
        },
        true,
      )
    },
    Math.min(1_000, Math.max(50, Math.floor(silenceMs / 8))),
  )
  watchdog.unref()
  const tracker = new RecoveryTracker()
  let exit: SandboxExit
  try {
    for await (const read of readSandboxEvents(sandbox.stdout, {
      expect: { jobId: spec.jobId, runId: spec.runId },
    })) {
      lastHeard = Date.now()
      // Ended by the orchestrator: what it prints while it is stopped changes nothing (it would read as cancelled).
      if (ended) continue
      const item = guard.item(read)
      // Proof of life only: neither stored nor streamed.
      if (item.kind === "event" && item.event.type === "heartbeat") continue
      if (item.kind === "rejected") {
        await record(
          outputRejectedEvent(item, { jobId: spec.jobId, runId: spec.runId, id: ids(), timestamp: clock() }),
        )
        if (item.reason === "lineTooLong") {
          // The runtime never prints such a line; one that did may be waiting for an acknowledgement of it, which
          // would never come. The run ends here, without a retry (it would print the same line again).
          endSandbox(
            {
              name: "SandboxOutputTooLarge",
              code: "sandbox.outputTooLarge",
              message: `the sandbox printed a line of ${formatBytes(item.byteLength)} (line ${item.lineNumber}), over the ${formatBytes(MAX_EVENT_LINE_BYTES)} an event line may carry; the run was stopped`,
              isRetryable: false,
            },
            false,
          )
        }
        continue
      }
      const event: SandboxEvent = item.event
      const unknownHistory = terminal ? undefined : checkpoints.problem(event)
      if (unknownHistory) {
        const { byteLength, lineNumber } = item
        const sample = item.text.slice(0, 512)
        const rejected = { kind: "rejected", reason: "invalidEvent", sample, byteLength, lineNumber } as const
        const context = { jobId: spec.jobId, runId: spec.runId, id: ids(), timestamp: clock() }
        await record(outputRejectedEvent({ ...rejected, issues: unknownHistory }, context))
        continue
      }
      if (!terminal) checkpoints.take(event)
      // A checkpoint is written before the event that names it, so no stored event points at a missing file.
      if (!terminal && (event.type === "continueToNextStep" || isTerminalEvent(event))) {
        await store.writeCheckpoint(event.checkpoint)
      }
      // Stored as the sandbox printed it. Anything after the terminal event is kept but changes nothing.
      await record(event, item.text)
      if (terminal) continue
      tracker.observe(event)
      if (event.type === "callTools") {
        // Stored (in the OS, so it survives this process dying) before the sandbox may run the calls.
        await log.flush()
        sandbox.acknowledge?.(event.id)
        // And through the gateway, for a sandbox with no way back in (a Kubernetes pod polls it).
        if (gatewayToken !== undefined) job.options.gateway?.acknowledge(gatewayToken, event.id)
      }
      if (event.type === "continueToNextStep") await job.stepFinished(event.step.usage, budget)
      if (isTerminalEvent(event)) {
        terminal = event
        if (event.step.finishedAt !== undefined) await job.stepFinished(event.step.usage, budget)
      }
    }
  } finally {
    exit = guard.exit(await sandbox.wait())
    clearInterval(watchdog)
    untrack()
  }
  await record(
    orchestratorEvent("sandboxExited", {
      backend: sandbox.backend,
      sandboxId: sandbox.id,
      ...exitPayload(exit, terminal),
    }),
  )

  let recovery: RunInput | undefined
  if (!terminal && !ended && exit.exitCode === EXIT_EVENT_TOO_LARGE) {
    const said =
      exit.stderrTail
        .trim()
        .split("\n")
        .at(-1)
        ?.replace(/^perstack-runtime: /, "") ?? ""
    const error = {
      name: "EventTooLarge",
      code: "run.eventTooLarge",
      message: guard.text(said || "an event was too large to print"),
      isRetryable: false,
    }
    ended = { error, resumable: false }
  }
  // What the orchestrator ended is a crash with its reason, not the cancellation its stop looks like.
  const endedBy = job.stopCause ? undefined : ended
  if (!terminal) {
    terminal = guard.event(
      synthesizeCrash({
        spec,
        exit: endedBy ? { ...exit, reason: "crashed" } : exit,
        lastCheckpoint: tracker.lastCheckpoint,
        ids,
        clock,
        stopCause: job.stopCause,
        ...(endedBy ? { error: endedBy.error } : {}),
      }),
    )
    await record(terminal)
    await store.writeCheckpoint(terminal.checkpoint)
    if (terminal.checkpoint.status === "stoppedByError" && (endedBy?.resumable ?? true)) {
      // Died before its first checkpoint: nothing happened in it, so it starts over from the same input.
      recovery =
        (await tracker.recoveryInput(job.options.config, spec.expert.key, async (id) =>
          checkpoints.messagesOf(id),
        )) ?? spec.input
    }
  }
  await log.close()
  run = {
    ...run,
    status: terminal.checkpoint.status,
    usage: guard.usage(terminal.checkpoint.usage),
    lastCheckpointId: terminal.checkpoint.id,
    ...(terminal.type === "stopRunByError" ? { error: terminal.error } : {}),
    finishedAt: clock(),
  }
  await store.writeRun(run)
  return { terminal, checkpoint: checkpoints.whole(terminal.checkpoint), ...(recovery ? { recovery } : {}) }
}

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
