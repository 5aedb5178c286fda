// The library API: run an Expert from perstack.toml as a job, the way `perstack run` does.
import { stat } from "node:fs/promises"
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type {
  PerstackConfig,
  SandboxBackend as SandboxBackendName,
} from "../../runtime/protocol/config/perstack-toml.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { type ConfigProblem, formatProblem } from "../config/config-problem.ts"
import { loadConfig, parseConfigText } from "../config/load-config.ts"
import { loadEnv } from "../config/load-env.ts"
import { lockForRun, skillLocksFor } from "../install/lock-for-run.ts"
import { type JobResult, runJob } from "../job/run-job.ts"
import { DEFAULTS, resolveSettings, type SettingOverrides } from "../job/settings.ts"
import { createBackend } from "../sandbox/create-backend.ts"
import { notIsolatedNotice } from "../sandbox/local/local-backend.ts"
import { jobSecrets } from "../secrets/job-secrets.ts"
import { SecretScrubber } from "../secrets/secret-scrubber.ts"
import { scrubbedStderr } from "../secrets/stderr-scrubber.ts"
import { JobStore } from "../store/job-store.ts"
import { envFilesOf, jobInputFiles } from "../trust/input-files.ts"

export interface RunOptions extends SettingOverrides {
  /** the coordinator Expert's key */
  expert: string
  /** the query; for a continued job a follow-up query, or with `interactiveAnswer` the answer */
  query?: string
  /** a parsed config, or perstack.toml text; otherwise `configPath`, otherwise the nearest perstack.toml */
  config?: PerstackConfig | string
  configPath?: string
  /** every Expert's working directory (default: the current directory); the job store is its perstack/ */
  workspace?: string
  /** default: process.env plus .env and .env.local in the workspace (see loadEnv for the precedence) */
  env?: Readonly<Record<string, string | undefined>>
  envPath?: string[]
  /** laid over the environment (given or loaded): e.g. a provider key the caller holds */
  envOverrides?: Readonly<Record<string, string>>
  /** where the job store lives (default `<workspace>/perstack`) */
  storeRoot?: string
  /** continue a job: its id, or "latest" */
  continueJob?: string
  /** with continueJob: go back to this checkpoint of the coordinator */
  resumeFrom?: string
  /** with continueJob: the query answers the pending interactive tool */
  interactiveAnswer?: boolean
  jobId?: string
  /** aborting stops every sandbox gracefully; the job stays resumable */
  signal?: AbortSignal
  /**
   * Every event of the job, in order; a returned promise makes the job wait (backpressure). `line` is the event
   * as its sandbox printed it (JSON), when it came from one.
   */
  onEvent?: (event: PerstackEvent, line?: string) => void | Promise<void>
  /** each chunk of a sandbox's stderr */
  onSandboxStderr?: (runId: string, chunk: Buffer) => void
  /** things worth telling the user that do not stop the job (a stale perstack.lock, keys kept for compatibility) */
  onWarning?: (message: string) => void
  /** with continueJob: go on although perstack.toml, perstack.lock or an env file changed since the job started */
  acceptChangedInputs?: boolean
}

export type { JobResult }

/** The config given (parsed, or as text), or read from a file: only a file can have a perstack.lock beside it. */
async function configOf(
  options: RunOptions,
  workspace: string,
): Promise<{ config: PerstackConfig; warnings: ConfigProblem[]; source?: { file: string; text: string } }> {
  if (typeof options.config === "string") return parseConfigText(options.config, "perstack.toml")
  if (options.config) return { config: options.config, warnings: [] }
  const loaded = await loadConfig({ configPath: options.configPath, cwd: workspace })
  return {
    config: loaded.config,
    warnings: loaded.warnings,
    source: { file: loaded.file, text: loaded.text },
  }
}

export async function run(options: RunOptions): Promise<JobResult> {
  const workspace = path.resolve(options.workspace ?? ".")
  if (!(await stat(workspace).catch(() => undefined))?.isDirectory()) {
    throw new PerstackError("workspace.notFound", `workspace ${workspace}: not a directory`)
  }
  // The sandbox backend's module is loaded and its isolation probed (bubblewrap, a process of its own) while the config
  // is read, when the caller names the backend (`--sandbox`): the config's `runtime` cannot override it then.
  let stderrSink: ((runId: string, chunk: Buffer) => void) | undefined
  const backendOf = async (name: SandboxBackendName) => {
    const backend = await createBackend(name, {
      onStderr: options.onSandboxStderr ? (runId, chunk) => stderrSink?.(runId, chunk) : undefined,
    })
    return { backend, isolated: await backend.isolated() }
  }
  const named = options.sandbox ? backendOf(options.sandbox) : undefined
  // Awaited below; a command refused meanwhile (a broken config) reports that, not this.
  named?.catch(() => undefined)
  const { config, warnings, source } = await configOf(options, workspace)
  for (const warning of warnings) options.onWarning?.(formatProblem(warning))
  // A fresh perstack.lock gives each run its tool lists and pinned packages; a stale one is reported, not used.
  const lock = source ? await lockForRun({ configFile: source.file, configText: source.text }) : {}
  if (lock.stale) options.onWarning?.(lock.stale)
  const { lockfile } = lock
  const envFiles = options.envPath ?? config.envPath
  const env = {
    ...(options.env ?? (await loadEnv({ dir: workspace, files: envFiles, processEnv: process.env }))),
    ...options.envOverrides,
  }
  const storeRoot = path.resolve(options.storeRoot ?? path.join(workspace, "perstack"))
  // The sandboxes' stderr reaches the caller scrubbed (below, stderrSink), once the settings name the job's secrets.
  const { backend, isolated } = await (named ?? backendOf(config.runtime ?? DEFAULTS.sandbox))
  if (backend.name === "local" && !isolated) {
    const notice = notIsolatedNotice()
    if (notice) options.onWarning?.(notice)
  }
  const settings = resolveSettings(config, options, { isolated })
  if (options.interactiveAnswer && !options.continueJob) {
    throw new PerstackError(
      "usage",
      "an interactive answer (-i) needs continueJob (--continue-job <jobId> or --continue)",
    )
  }
  let jobId = options.continueJob
  if (jobId === "latest") {
    const [latest] = await new JobStore(storeRoot).listJobs()
    if (!latest) throw new PerstackError("job.notFound", `no job yet in ${path.join(storeRoot, "jobs")}`)
    jobId = latest.id
  }
  if (!jobId && options.resumeFrom) {
    // --resume-from alone (as the seeds write it): the checkpoint's id names its job.
    const store = new JobStore(path.join(workspace, "perstack"))
    const job = await store.jobOfCheckpoint(options.resumeFrom)
    if (!job) {
      throw new PerstackError(
        "checkpoint.notFound",
        `no checkpoint ${options.resumeFrom} in any job of ${path.join(workspace, "perstack", "jobs")}`,
      )
    }
    jobId = job.id
  }
  if (jobId && options.jobId !== undefined && options.jobId !== jobId) {
    throw new PerstackError(
      "usage",
      `--job-id ${options.jobId} names a new job, --continue-job ${jobId} an existing one: give one of them`,
    )
  }
  if (!jobId && !options.query)
    throw new PerstackError("query.missing", `give a query for "${options.expert}"`)

  // What a sandbox prints on stderr reaches the caller with the job's secrets scrubbed, as everything else does.
  stderrSink = options.onSandboxStderr
    ? scrubbedStderr(
        options.onSandboxStderr,
        new SecretScrubber(jobSecrets({ config, provider: settings.provider, env })),
      )
    : undefined
  return runJob({
    config,
    expertKey: options.expert,
    ...(options.query !== undefined ? { query: options.query } : {}),
    ...(jobId
      ? {
          continueJob: {
            jobId,
            ...(options.resumeFrom ? { fromCheckpointId: options.resumeFrom } : {}),
            ...(options.interactiveAnswer ? { interactiveAnswer: true } : {}),
          },
        }
      : {}),
    ...(options.jobId ? { jobId: options.jobId } : {}),
    workspace,
    storeRoot,
    backend,
    inputs: jobInputFiles({
      workspace,
      ...(source ? { configFile: source.file } : {}),
      envFiles: options.env ? [] : envFilesOf(envFiles),
    }),
    ...(options.acceptChangedInputs ? { acceptChangedInputs: true } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    settings,
    env,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(lockfile ? { skillLocksFor: (expertKey: string) => skillLocksFor(lockfile, expertKey) } : {}),
  })
}
