// The sandbox backend interface: start one run from a RunSpec, read its stdout, wait for its end, stop it.
import type { SandboxSettings } from "../../runtime/protocol/config/expert.ts"
import type { SandboxBackend as SandboxBackendName } from "../../runtime/protocol/config/perstack-toml.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"

export interface SandboxStartOptions {
  spec: RunSpec
  /** the sandbox's whole environment: only what this Expert needs (its provider key, its skills' requiredEnv) */
  env: Readonly<Record<string, string>>
  /** the workspace on the host; the sandbox sees it as its working directory */
  workspace: string
  /** labels for finding and reaping the sandbox (job, run, parent run) */
  labels: { jobId: string; runId: string; parentRunId?: string }
  /**
   * Set when `env` holds a value issued for this run alone (the LLM gateway's token): a sandbox started ahead of
   * its run cannot have it. With `perRunEnv`, a backend's pool hands it over at claim; without, the run starts cold.
   */
  envIsPerRun?: boolean
  /**
   * The names in `env` whose values are this run's alone (its gateway token). A backend that starts sandboxes ahead of
   * their runs gives them these only when a run claims one.
   */
  perRunEnv?: readonly string[]
  /** the Expert's `[experts."<key>".sandbox]` table (image, limits, timeout, network); backends use what applies */
  settings?: SandboxSettings
  /**
   * The orchestrator's services for this run, set when its LLM requests go through the gateway. A backend that can
   * lock a sandbox's network down does so for network = "gateway" (the default then): these are its only way out.
   */
  services?: SandboxServices
  /**
   * Workspace files the host reads to decide what runs (perstack.toml, perstack.lock, env files): a backend that
   * isolates mounts each existing one read-only, and an env file masked (empty), over the workspace.
   */
  protectedPaths?: readonly ProtectedPath[]
}

/** What a backend needs to start a sandbox ahead of its run: a run's options, less the run itself. */
export type SandboxPrewarmOptions = Omit<
  SandboxStartOptions,
  "spec" | "labels" | "perRunEnv" | "envIsPerRun"
> & {
  jobId: string
  expertKey: string
}

export interface ProtectedPath {
  /** relative to the workspace */
  path: string
  /** readOnly: visible, not writable; mask: an empty, read-only file in its place (it holds keys) */
  mode: "readOnly" | "mask"
  /** whether it is there now: only an existing file can be mounted over */
  exists: boolean
}

export interface SandboxServices {
  /** the LLM gateway's base URL, on hostAddress() (the RunSpec's llmBaseUrl is the same) */
  gateway: string
  /** the job's egress proxy (http://host:port, on hostAddress()), when any Expert of the job has allowed domains */
  proxy?: string
  /** this run's proxy token, when its Expert's skills declare allowed domains */
  proxyToken?: string
}

export type SandboxExitReason = "completed" | "crashed" | "timeout" | "cancelled" | "oomKilled"

export interface SandboxExit {
  exitCode: number | null
  signal?: string
  /** how the sandbox ended, as the backend saw it; the scheduler refines it with the event stream */
  reason: SandboxExitReason
  /** the end of its stderr, for a crash report */
  stderrTail: string
  durationMs: number
  /** with reason oomKilled: the memory limit it ran out of, in bytes, when the backend knows it */
  memoryLimitBytes?: number
}

export interface Sandbox {
  readonly id: string
  readonly backend: SandboxBackendName
  readonly image?: string
  /** the raw bytes of its stdout (NDJSON events); consumed once */
  readonly stdout: AsyncIterable<Uint8Array>
  /** resolves when the sandbox has ended and its output is drained */
  wait(): Promise<SandboxExit>
  /**
   * Tells the sandbox an event is stored (for callTools: it may run the calls now). Backends without a channel
   * back into the sandbox leave it out; their runtime then does not wait.
   */
  acknowledge?(eventId: string): void
  /** graceful (SIGTERM or equivalent), then forced after `graceMs`; resolves when it has ended */
  stop(options?: { graceMs?: number; reason?: "cancelled" | "timeout" }): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface SandboxBackend {
  readonly name: SandboxBackendName
  /**
   * Whether its sandboxes see the workspace and nothing else of the host, with the protected paths read-only or
   * masked, and no process of the orchestrator's or of another sandbox's (docker, kubernetes; local with bubblewrap).
   */
  isolated(): Promise<boolean>
  start(options: SandboxStartOptions): Promise<Sandbox>
  /** kills whatever is left of a run's sandbox, found by its labels (after the orchestrator died) */
  reap?(labels: { jobId: string; runId: string }): Promise<void>
  /** where this host's services (the LLM gateway) listen for sandboxes; loopback when absent or undefined */
  hostAddress?(): Promise<string | undefined>
  /**
   * Starts up to `count` sandboxes for runs like `options` ahead of them (the parent's resume while its delegates
   * run, the delegates of a coordinator while it thinks), for start() to claim. Backends without a pool leave it out.
   */
  prewarm?(options: SandboxPrewarmOptions, count: number): Promise<void>
  /** frees what the backend keeps for a job across its runs (docker: its locked-down network); once its runs ended */
  releaseJob?(jobId: string): Promise<void>
}
