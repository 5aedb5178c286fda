// Test support: a workspace with a perstack.toml, the local backend on the runtime's source, and runJob with events.
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { parseConfigText } from "../config/load-config.ts"
import { type JobResult, type RunJobOptions, runJob } from "../job/run-job.ts"
import { resolveSettings, type SettingOverrides } from "../job/settings.ts"
import { createLocalBackend, type LocalBackendOptions } from "../sandbox/local/local-backend.ts"
import type { SandboxBackend } from "../sandbox/sandbox.ts"
import { JobStore } from "../store/job-store.ts"

export const RUNTIME_SOURCE = path.resolve(import.meta.dirname, "../../runtime/cli/bin.ts")

export interface TestWorkspace {
  dir: string
  store: JobStore
  [Symbol.asyncDispose](): Promise<void>
}

export async function makeJobWorkspace(): Promise<TestWorkspace> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-job-")))
  return {
    dir,
    store: new JobStore(path.join(dir, "perstack")),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  }
}

/** An Expert with one interactive tool, `ask__confirm({ question })`: a job that stops waiting for the user. */
export const ASKER_EXPERT = `[experts."asker"]
instruction = "Ask before acting."

[experts."asker".skills."ask"]
type = "interactiveSkill"

[experts."asker".skills."ask".tools."confirm"]
description = "Ask the user to confirm"
inputJsonSchema = '{"type":"object","properties":{"question":{"type":"string"}},"required":["question"]}'
`

/** perstack.toml text for Experts talking to the scripted server at `llmUrl`. */
export function configText(llmUrl: string, experts: string): string {
  return `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llmUrl}"\n\n${experts}`
}

export async function runTestJob(
  ws: TestWorkspace,
  options: {
    toml: string
    expertKey: string
    query?: string
    settings?: SettingOverrides
    backend?: LocalBackendOptions
    /** wraps the local backend (a test watching what the job asks of it) */
    wrapBackend?: (backend: SandboxBackend) => SandboxBackend
    onEvent?: (event: PerstackEvent) => void
    /** added to the orchestrator's environment */
    env?: Record<string, string>
  } & Partial<Pick<RunJobOptions, "continueJob" | "signal" | "jobId">>,
): Promise<JobResult & { events: PerstackEvent[] }> {
  await writeFile(path.join(ws.dir, "perstack.toml"), options.toml)
  const { config } = parseConfigText(options.toml, "perstack.toml")
  const events: PerstackEvent[] = []
  const result = await runJob({
    config,
    expertKey: options.expertKey,
    ...(options.query !== undefined ? { query: options.query } : {}),
    ...(options.continueJob ? { continueJob: options.continueJob } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.jobId ? { jobId: options.jobId } : {}),
    workspace: ws.dir,
    backend: (options.wrapBackend ?? ((backend) => backend))(
      createLocalBackend({ runtimeEntry: RUNTIME_SOURCE, ...options.backend }),
    ),
    settings: resolveSettings(config, {
      maxRetries: 1,
      timeout: 10_000,
      crashRetryBaseMs: 20,
      ...options.settings,
    }),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OPENAI_API_KEY: "sk-test-orchestrator-key",
      ...options.env,
    },
    onEvent: (event) => {
      events.push(event)
      options.onEvent?.(event)
    },
  })
  return { ...result, events }
}
