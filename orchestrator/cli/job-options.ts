// The options every command that runs jobs shares (run, start, serve), declared once.
import { type Command, Option } from "commander"
import type { SettingOverrides } from "../job/settings.ts"
import {
  collect,
  nonNegativeInt,
  positiveInt,
  providerName,
  reasoningBudget,
  sandboxName,
} from "./option-parsers.ts"

export function withJobOptions(command: Command): Command {
  return command
    .option(
      "--config <path>",
      "perstack.toml to read (default: the nearest one from the working directory up)",
    )
    .option("--provider <name>", "LLM provider (default: perstack.toml, else anthropic)", providerName)
    .option(
      "--model <name>",
      "model of every Expert, over their defaultModelTier (default: the tier, else perstack.toml, else the provider's middle tier)",
    )
    .option(
      "--reasoning-budget <budget>",
      "none, minimal, low, medium, high or tokens (default low)",
      reasoningBudget,
    )
    .option("--max-steps <n>", "the job's step budget, across all its runs (default 100)", positiveInt)
    .option("--max-retries <n>", "retries of a failed generation (default 5)", nonNegativeInt)
    .option("--timeout <ms>", "timeout of one generation, ms (default 300000)", positiveInt)
    .option("--job-timeout <ms>", "stop the whole job after this long, ms (it stays resumable)", positiveInt)
    .option(
      "--crash-retries <n>",
      "resume a run whose sandbox died this many times (default 2)",
      nonNegativeInt,
    )
    .option("--env-path <path>", "env file to load (repeatable; default .env then .env.local)", collect)
    .option(
      "--env <name>",
      "pass this variable (from the environment or the env files) into every sandbox, where exec and MCP servers see it (repeatable)",
      collect,
    )
    .addOption(
      new Option(
        "--sandbox <backend>",
        "where each Expert runs: local, docker or kubernetes (default local)",
      ).argParser(sandboxName),
    )
    .addOption(
      new Option("--runtime <backend>", "the original's name for --sandbox")
        .argParser(sandboxName)
        .hideHelp(),
    )
    .option("--concurrency <n>", "sandboxes running at once (default 4)", positiveInt)
    .option(
      "--gateway",
      "send LLM requests through the orchestrator's gateway: sandboxes never see the provider key (default: on for docker and kubernetes)",
    )
    .option("--no-gateway", "give sandboxes the provider key and let them call the provider directly")
}

/** What withSingleJobOptions parses: the options of one job's command (run and start). */
export interface SingleJobCommandOptions extends SettingOverrides {
  config?: string
  jobId?: string
  envPath?: string[]
  continue?: boolean
  continueJob?: string
  resumeFrom?: string
  interactiveToolCallResult?: boolean
  workspace?: string
  acceptChangedInputs?: boolean
}

/** The job options of a single job (run and start). */
export function withSingleJobOptions(command: Command): Command {
  return withJobOptions(command)
    .option("--job-id <id>", "id for a new job")
    .option("--continue", "continue the latest job")
    .option("--continue-job <jobId>", "continue this job")
    .option(
      "--resume-from <checkpointId>",
      "go back to this checkpoint of the coordinator (its id names its job); without a query, a checkpoint taken mid-run runs again from there",
    )
    .option("-i, --interactive-tool-call-result", "the query is the answer to the pending interactive tool")
    .option("--workspace <path>", "the workspace every Expert works in (default: the working directory)")
    .option(
      "--accept-changed-inputs",
      "continue a job although perstack.toml, perstack.lock or an env file changed since it started",
    )
}

/**
 * `--runtime` is the original's name for `--sandbox`; `--env` (commander's `env`) becomes `forwardEnv`, as `env`
 * is the environment itself everywhere else.
 */
export function normalizeJobOptions<T extends { sandbox?: unknown; runtime?: unknown; env?: string[] }>(
  options: T,
): Omit<T, "runtime" | "env"> & { sandbox?: T["sandbox"]; forwardEnv?: string[] } {
  const { runtime, env, ...rest } = options
  return {
    ...rest,
    sandbox: (rest.sandbox ?? runtime) as T["sandbox"],
    ...(env !== undefined ? { forwardEnv: env } : {}),
  }
}
