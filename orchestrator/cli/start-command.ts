// `perstack start [expert] [query]`: the interactive terminal UI. Its code is imported only here, on demand, so
// the headless commands never load Ink or React.
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Job } from "../../runtime/protocol/job.ts"
import { loadConfig } from "../config/load-config.ts"
import { resolveSettings } from "../job/settings.ts"
import { JobStore } from "../store/job-store.ts"
import type { StartPhase } from "../tui/start-app.tsx"
import { EXIT_BAD_INPUT } from "./exit-codes.ts"
import type { SingleJobCommandOptions } from "./job-options.ts"
import type { CommandIo } from "./validate.ts"

export type StartCommandOptions = SingleJobCommandOptions

export interface StartIo extends CommandIo {
  signal?: AbortSignal
  /** default: whether stdin and stdout are terminals */
  interactive?: boolean
}

const RECENT_JOBS = 10

export async function startCommand(
  expert: string | undefined,
  query: string | undefined,
  options: StartCommandOptions,
  io: StartIo,
): Promise<number> {
  if (!(io.interactive ?? (process.stdin.isTTY && process.stdout.isTTY))) {
    io.stderr("perstack start: needs a terminal; in scripts and pipes use `perstack run`\n")
    return EXIT_BAD_INPUT
  }
  const {
    config: configOption,
    continue: latest,
    continueJob,
    resumeFrom,
    interactiveToolCallResult,
    workspace: workspaceOption,
    jobId,
    envPath,
    ...settings
  } = options
  // As `perstack run`: the config is searched from the working directory, the workspace is where Experts work.
  const loaded = await loadConfig({ cwd: io.cwd, ...(configOption ? { configPath: configOption } : {}) })
  const workspace = path.resolve(io.cwd, workspaceOption ?? ".")
  const store = new JobStore(path.join(workspace, "perstack"))
  const experts = Object.entries(loaded.config.experts).map(([key, definition]) => ({
    key,
    ...(definition.description ? { description: definition.description } : {}),
  }))
  if (expert !== undefined && !experts.some((candidate) => candidate.key === expert)) {
    throw new PerstackError(
      "expert.notFound",
      `no Expert "${expert}" in ${loaded.file} (defined: ${experts.map((candidate) => candidate.key).join(", ")})`,
    )
  }
  const jobs: Job[] = expert === undefined ? (await store.listJobs()).slice(0, RECENT_JOBS) : []
  const continuing = continueJob ?? (latest ? "latest" : undefined)
  const initial: StartPhase =
    expert === undefined
      ? { kind: "pick" }
      : query !== undefined || continuing
        ? {
            kind: "running",
            request: {
              expert,
              ...(query !== undefined ? { query } : {}),
              ...(continuing ? { continueJob: continuing } : {}),
              ...(resumeFrom ? { resumeFrom } : {}),
              ...(interactiveToolCallResult ? { interactiveAnswer: true } : {}),
            },
          }
        : { kind: "query", expert, title: `New job for ${expert}` }
  const { startUi } = await import("../tui/start-ui.tsx")
  return startUi({
    base: {
      ...settings,
      configPath: loaded.file,
      workspace,
      ...(jobId ? { jobId } : {}),
      ...(envPath ? { envPath } : {}),
    },
    store,
    experts,
    jobs,
    provider: resolveSettings(loaded.config, settings).provider.providerName,
    initial,
    ...(io.signal ? { signal: io.signal } : {}),
    stderr: io.stderr,
  })
}
