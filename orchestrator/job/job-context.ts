// The live state of one job: settings, store, counters, the sandboxes running, and how to stop them all.
import type { Clock, IdGenerator } from "../../runtime/ids.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Job } from "../../runtime/protocol/job.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { EgressProxy } from "../gateway/egress-proxy.ts"
import type { LlmGateway } from "../gateway/llm-gateway.ts"
import type { Sandbox, SandboxBackend } from "../sandbox/sandbox.ts"
import type { SecretScrubber } from "../secrets/secret-scrubber.ts"
import type { JobStore } from "../store/job-store.ts"
import { Semaphore } from "./semaphore.ts"
import type { JobSettings } from "./settings.ts"
import type { StepLease } from "./step-budget.ts"

export type StopCause = "cancelled" | "timeout"

export interface JobContextOptions {
  job: Job
  config: PerstackConfig
  settings: JobSettings
  store: JobStore
  backend: SandboxBackend
  workspace: string
  env: Readonly<Record<string, string | undefined>>
  ids: IdGenerator
  clock: Clock
  /** every secret value of the job: replaced in all it stores or streams */
  secrets: SecretScrubber
  onEvent?: (event: PerstackEvent, line?: string) => void | Promise<void>
  /** set when the job's LLM requests go through the gateway */
  gateway?: LlmGateway
  /** set with the gateway when an Expert of the job has allowed domains: a locked-down sandbox's way to them */
  egressProxy?: EgressProxy
  /** per-Expert locks for the RunSpec (from perstack.lock) */
  skillLocksFor?: (expertKey: string) => RunSpec["skillLocks"]
}

export class JobContext {
  readonly options: JobContextOptions
  readonly limiter: Semaphore
  private readonly running = new Set<Sandbox>()
  private readonly segments = new Set<Promise<unknown>>()
  private stopping: StopCause | undefined
  private backgroundFailure: { error: unknown } | undefined
  job: Job

  constructor(options: JobContextOptions) {
    this.options = options
    this.job = options.job
    this.limiter = new Semaphore(options.settings.concurrency)
  }

  get stopCause(): StopCause | undefined {
    return this.stopping
  }

  /** Returns a promise only when the listener asks to wait: no promise per event on the hot path. */
  emit(event: PerstackEvent, line?: string): void | Promise<void> {
    return this.options.onEvent?.(event, line)
  }

  /**
   * A run finished a step: the job's totals and the spending conversation's budget (and its ancestors'). The tokens
   * are the gateway's count where it counts (the figure its budget is checked against), else what the run reported.
   */
  async stepFinished(usage: Usage, budget: StepLease): Promise<void> {
    budget.spend()
    this.job = { ...this.job, totalSteps: this.job.totalSteps + 1, usage: this.jobUsage(usage) }
    await this.options.store.writeJob(this.job)
  }

  /** The job's tokens so far, `reported` by a step just finished added when the gateway does not count them. */
  jobUsage(reported: Usage = emptyUsage()): Usage {
    return this.options.gateway ? this.options.gateway.usage : addUsage(this.job.usage, reported)
  }

  track(sandbox: Sandbox): () => void {
    this.running.add(sandbox)
    // A sandbox that starts after a stop was requested is stopped at once.
    if (this.stopping) void sandbox.stop({ reason: this.stopping === "timeout" ? "timeout" : "cancelled" })
    return () => this.running.delete(sandbox)
  }

  /** Runs one segment's work, counted until it has written its last record. */
  async segment<T>(work: Promise<T>): Promise<T> {
    this.segments.add(work)
    try {
      return await work
    } finally {
      this.segments.delete(work)
    }
  }

  /**
   * A segment's work after it handed its result back (its sandbox's exit and last records), counted as a segment's.
   * Its failure (a full disk, a broken store) stops the job, and is kept for the job to fail with.
   */
  background(work: Promise<unknown>): void {
    this.segment(work).catch((error: unknown) => {
      this.backgroundFailure ??= { error }
      void this.stop("cancelled")
    })
  }

  /** Resolves once no segment is writing any more: after a stop, every sandbox has ended and its records are done. */
  async idle(): Promise<void> {
    while (this.segments.size > 0) await Promise.allSettled([...this.segments])
  }

  /** The first failure of a segment's work after its result went back (see `background`). */
  get failure(): { error: unknown } | undefined {
    return this.backgroundFailure
  }

  /** Stops every running sandbox gracefully (then forcefully) and starts no new one. */
  async stop(cause: StopCause): Promise<void> {
    this.stopping ??= cause
    const reason = cause === "timeout" ? "timeout" : "cancelled"
    await Promise.all([...this.running].map((sandbox) => sandbox.stop({ reason })))
  }
}
