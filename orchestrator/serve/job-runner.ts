// Runs one API job (its first query or a continuation) through the orchestrator, in the job's own workspace.
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { type JobResult, runJob } from "../job/run-job.ts"
import { type JobSettings, resolveSettings, type SettingOverrides } from "../job/settings.ts"
import type { SandboxBackend } from "../sandbox/sandbox.ts"
import type { JobActivity } from "./job-activity.ts"
import type { ApiJobRecord, JobRegistry } from "./job-registry.ts"

export interface JobRunnerContext {
  config: PerstackConfig
  /** the server's settings (--sandbox, --max-steps, ...); a request may choose provider and model */
  settings: SettingOverrides
  /** the environment jobs see (provider keys); sandboxes get only what they need of it */
  env: Readonly<Record<string, string | undefined>>
  backendFor: (settings: JobSettings) => SandboxBackend
  skillLocksFor?: (expertKey: string) => RunSpec["skillLocks"]
  registry: JobRegistry
  activity: JobActivity
}

export type JobRequest =
  | { kind: "start" }
  /** a follow-up (or, for a cancelled or interrupted job, nothing: it resumes where it stopped) */
  | { kind: "continue"; query?: string }
  | { kind: "answer"; answer: string; toolCallId?: string }

export function settingsFor(context: JobRunnerContext, record: Pick<ApiJobRecord, "provider" | "model">) {
  return resolveSettings(context.config, {
    ...context.settings,
    ...(record.provider ? { provider: record.provider } : {}),
    ...(record.model ? { model: record.model } : {}),
  })
}

export async function executeJob(
  context: JobRunnerContext,
  record: ApiJobRecord,
  request: JobRequest,
  signal: AbortSignal,
): Promise<JobResult> {
  const settings = settingsFor(context, record)
  const store = context.registry.store(record.id)
  // A job cancelled while queued never reached the store: its continuation is its first start.
  const started = request.kind !== "start" && (await store.readJob(record.id)) !== undefined
  const query =
    request.kind === "start"
      ? record.query
      : request.kind === "answer"
        ? request.toolCallId
          ? JSON.stringify({ toolCallId: request.toolCallId, text: request.answer })
          : request.answer
        : started
          ? request.query
          : (request.query ?? record.query)
  return runJob({
    config: context.config,
    expertKey: record.expertKey,
    ...(query !== undefined ? { query } : {}),
    ...(started
      ? {
          continueJob: {
            jobId: record.id,
            ...(request.kind === "answer" ? { interactiveAnswer: true } : {}),
          },
        }
      : { jobId: record.id }),
    workspace: context.registry.workspace(record.id),
    backend: context.backendFor(settings),
    settings,
    env: context.env,
    signal,
    onEvent: () => context.activity.notify(record.id),
    ...(context.skillLocksFor ? { skillLocksFor: context.skillLocksFor } : {}),
  })
}
