// A whole job: create or continue it, drive the coordinator's conversation, stop everything on cancel or timeout.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { type Clock, type IdGenerator, newId, systemClock } from "../../runtime/ids.ts"
import type { Checkpoint, WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Job } from "../../runtime/protocol/job.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import type { EgressProxyOptions } from "../gateway/egress-proxy.ts"
import type { SandboxBackend } from "../sandbox/sandbox.ts"
import { jobSecrets } from "../secrets/job-secrets.ts"
import { SecretScrubber } from "../secrets/secret-scrubber.ts"
import { JobStore } from "../store/job-store.ts"
import { type InputFile, refuseChangedInputs, snapshotInputs } from "../trust/job-inputs.ts"
import { describeOutcome, WorkspaceGuard } from "../trust/workspace-guard.ts"
import { type ContinueRequest, continueStart } from "./continue-job.ts"
import { type Outcome, runConversation } from "./conversation.ts"
import { finalizeInFlightRuns } from "./finalize-in-flight.ts"
import { JobContext } from "./job-context.ts"
import {
  admitJob,
  jobRecord,
  refuseUnderLock,
  settleAbandonedJobs,
  startJobEgressProxy,
  startJobGateway,
} from "./job-start.ts"
import { prewarm } from "./prewarm.ts"
import type { JobSettings } from "./settings.ts"
import { StepBudget } from "./step-budget.ts"

export interface RunJobOptions {
  config: PerstackConfig
  expertKey: string
  /** the query; for a continued job, a follow-up query or (with interactiveAnswer) the answer */
  query?: string
  /** an existing job to continue */
  continueJob?: ContinueRequest
  /** id for a new job (default: generated) */
  jobId?: string
  workspace: string
  /** default `<workspace>/perstack` */
  storeRoot?: string
  backend: SandboxBackend
  settings: JobSettings
  /** the loaded environment (process env and .env files); sandboxes get only what they need of it */
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  onEvent?: (event: PerstackEvent, line?: string) => void | Promise<void>
  skillLocksFor?: (expertKey: string) => RunSpec["skillLocks"]
  ids?: IdGenerator
  clock?: Clock
  /** the files the orchestrator read to decide what runs (config, lock, env files): recorded, and checked on continue */
  inputs?: readonly InputFile[]
  /** continue even though those files changed since the job started (or last continued) */
  acceptChangedInputs?: boolean
  /** things the user should hear of that do not stop the job */
  onWarning?: (message: string) => void
  /** tests only: how the egress proxy resolves names and where it may connect (a local server for the internet) */
  egressProxy?: Pick<EgressProxyOptions, "lookup" | "ports" | "allowLoopbackForTests">
}

export interface JobResult {
  job: Job
  status: Status
  /** the coordinator's final answer, when it completed */
  text?: string
  /** the coordinator's last checkpoint */
  checkpoint?: Checkpoint
  error?: string
}

export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const ids = options.ids ?? newId
  const clock = options.clock ?? systemClock
  const store = new JobStore(options.storeRoot ?? `${options.workspace}/perstack`)
  const { existing, jobId } = await admitJob(options, store, ids)
  const warn = options.onWarning ?? (() => {})
  const isolated = await options.backend.isolated()
  // What sandboxes of a job whose orchestrator died may have left in the workspace is settled before anything reads it.
  await settleAbandonedJobs(options.workspace, store, isolated, warn)
  const inputs = await snapshotInputs(options.workspace, options.inputs ?? [])
  if (existing && !options.acceptChangedInputs) refuseChangedInputs(existing, inputs)
  await using lock = await store.lock(jobId)
  // Checked under the lock, before anything is written: a refused command changes nothing on disk.
  await refuseUnderLock(store, { existing, jobId }, options, ids)
  // Stopped when the job ends, whichever way: `await using` closes them after the lock is released.
  const host = options.settings.gateway ? ((await options.backend.hostAddress?.()) ?? "127.0.0.1") : undefined
  await using gateway = host ? await startJobGateway(options, host, existing) : undefined
  await using egressProxy = host ? await startJobEgressProxy(options, host) : undefined
  // Disposed first, once every sandbox of the job has ended: the backend frees what it kept for the job.
  await using _released = {
    [Symbol.asyncDispose]: async () => {
      await options.backend.releaseJob?.(jobId)
    },
  }
  const job = new JobContext({
    job: jobRecord(options, { existing, jobId, inputs, startedAt: clock() }),
    config: options.config,
    settings: options.settings,
    store,
    backend: options.backend,
    workspace: options.workspace,
    env: options.env,
    ids,
    clock,
    secrets: new SecretScrubber(
      jobSecrets({ config: options.config, provider: options.settings.provider, env: options.env }),
    ),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.skillLocksFor ? { skillLocksFor: options.skillLocksFor } : {}),
    ...(gateway ? { gateway } : {}),
    ...(egressProxy ? { egressProxy } : {}),
  })
  // The coordinator's sandbox starts loading now, while the job's records are written and its conversation set up:
  // its first segment claims it. Only after every check that refuses the command (a refused one starts nothing), and
  // once the gateway listens (its address is part of the shape); `_released` kills it if the job ends first. Only for
  // a coordinator with delegates: a claimed sandbox is replaced in the pool, which only a job with more runs uses.
  if ((options.config.experts[options.expertKey]?.delegates ?? []).length > 0)
    prewarm(job, [options.expertKey])
  await store.writeJob(job.job)
  await store.ensureReserve()
  // From here on sandboxes can write the workspace: what appears among the protected files is settled at the end.
  const guard = await WorkspaceGuard.open({
    workspace: options.workspace,
    storeRoot: store.paths.root,
    jobId,
    inputs,
    now: clock(),
  })
  let guarded = true
  const closeGuard = async () => {
    if (!guarded) return
    guarded = false
    for (const line of describeOutcome(jobId, await guard.close(), isolated)) warn(line)
  }
  // On every way out, once the job's sandboxes have ended.
  await using _guarded = { [Symbol.asyncDispose]: closeGuard }

  const outcome = await driveJob(job, options)
  // The last segments' tails (their sandboxes' exits and last records) are written before the job's own record.
  await job.idle()
  if (job.failure) {
    await failJob(job, job.failure.error)
    throw job.failure.error
  }
  const status = jobStatus(job, outcome)
  // finishedAt: when the job last stopped running, whatever the status (a resumed job clears it).
  // The tokens of runs that ended without a step (killed mid-generation) count too: the gateway's figure, final.
  job.job = { ...job.job, status, usage: job.jobUsage(), finishedAt: clock() }
  await closeGuard()
  await store.writeJob(job.job)
  await lock.release()
  return {
    job: job.job,
    status,
    ...(outcome.kind === "completed" ? { text: outcome.text } : {}),
    ...(outcome.checkpoint ? { checkpoint: outcome.checkpoint } : {}),
    // A spent budget is the job's reason to stop, whatever the run made of the gateway's refusal.
    ...(outcome.kind === "error" ? { error: gateway?.budgetError ?? outcome.message } : {}),
  }
}

/** The coordinator's conversation, stopped on cancel or timeout; a failure of the orchestrator's own ends it. */
async function driveJob(job: JobContext, options: RunJobOptions): Promise<Outcome> {
  const onAbort = () => void job.stop("cancelled")
  options.signal?.addEventListener("abort", onAbort, { once: true })
  if (options.signal?.aborted) onAbort()
  const timer = options.settings.jobTimeout
    ? setTimeout(() => void job.stop("timeout"), options.settings.jobTimeout)
    : undefined
  // maxSteps is the job's whole budget: a continued job has what its earlier runs left.
  const budget = new StepBudget(Math.max(0, options.settings.maxSteps - job.job.totalSteps))
  try {
    return options.continueJob
      ? await continueStart(job, options.expertKey, options.continueJob, options.query, budget)
      : await runConversation(job, {
          expertKey: options.expertKey,
          budget,
          input: { type: "query", text: options.query ?? "" },
        })
  } catch (error) {
    await failJob(job, error)
    throw error
  } finally {
    if (timer) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
  }
}

/**
 * The orchestrator cannot go on (a full disk, a broken store): stop every sandbox, wait for their records, then
 * finish them in the space the store kept in reserve. No run stays "proceeding", no log keeps a torn line.
 */
async function failJob(job: JobContext, error: unknown): Promise<void> {
  const { store, clock } = job.options
  await job.stop("cancelled")
  await job.idle()
  await store.releaseReserve()
  await finalizeInFlightRuns(job, jobFailure(error)).catch(() => undefined)
  await store
    .writeJob({ ...job.job, status: "stoppedByError", usage: job.jobUsage(), finishedAt: clock() })
    .catch(() => undefined)
}

/** Why the runs a failed job left in flight stopped, as their records say it (resumable: see CRASH_CODES). */
function jobFailure(error: unknown): WrittenRunError {
  const diskFull = error instanceof PerstackError && error.code === "store.diskFull"
  return {
    name: diskFull ? "DiskFull" : "OrchestratorFailed",
    code: diskFull ? "store.diskFull" : "orchestrator.failed",
    message: error instanceof Error ? error.message : String(error),
    isRetryable: true,
  }
}

function jobStatus(job: JobContext, outcome: Outcome): Status {
  if (job.stopCause) return "stoppedByCancel"
  switch (outcome.kind) {
    case "completed":
      return "completed"
    case "interactive":
      return "stoppedByInteractiveTool"
    case "maxSteps":
      return "stoppedByExceededMaxSteps"
    case "error":
      return "stoppedByError"
    case "cancelled":
      return "stoppedByCancel"
  }
}
