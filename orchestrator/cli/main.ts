// The `perstack` command line. The only place that installs signal handlers or sets the exit code.
import { Command, Option } from "commander"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { RUNTIME_VERSION } from "../../runtime/version.ts"
import { installCommand } from "./install.ts"
import { type LogOptions, logCommand } from "./log-command.ts"
import {
  collect,
  commaList,
  nonNegativeInt,
  positiveInt,
  providerName,
  reasoningBudget,
  sandboxName,
} from "./option-parsers.ts"
import { EXIT_BAD_INPUT, type RunCommandOptions, runCommand } from "./run-command.ts"
import { type CommandIo, validateCommand } from "./validate.ts"

export interface MainIo extends CommandIo {
  /** aborted on Ctrl-C: running jobs stop gracefully and stay resumable */
  signal?: AbortSignal
  /** writes one NDJSON line to stdout, resolving once it is out (backpressure) */
  writeEvent?: (line: string) => Promise<void> | undefined
}

export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  let exitCode = 0
  const program = new Command("perstack")
    .description("Run AI Experts declared in perstack.toml, each in its own sandbox.")
    .version(RUNTIME_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })

  program
    .command("validate")
    .description("check perstack.toml and print who delegates to whom")
    .option(
      "--config <path>",
      "perstack.toml to read (default: the nearest one from the working directory up)",
    )
    .action(async (options: { config?: string }) => {
      exitCode = await validateCommand(options, io)
    })

  program
    .command("log")
    .description("show a job's summary, delegation tree and events (default: the latest job)")
    .option("--job <jobId>", "the job (default: the latest)")
    .option("--run <runId>", "only this run's events (its job is found if --job is not given)")
    .option("--checkpoint <checkpointId>", "this checkpoint's details and its run's events")
    .option("--step <expr>", "steps: 5, >5, >=5, <5, <=5 or 1-10")
    .option("--type <eventType>", "only this event type")
    .option("--errors", "stopRunByError, retry, outputRejected, sandboxes that did not end normally")
    .option("--tools", "callTools, resolveToolResults, callInteractiveTool")
    .option("--delegations", "callDelegate, stopRunByDelegate")
    .option("--filter <expression>", `e.g. '.toolCalls[].toolName == "exec"'`)
    .option("--take <n>", "events per page (default 100; 0 for all)", nonNegativeInt)
    .option("--offset <n>", "skip this many matches", nonNegativeInt)
    .option("--context <n>", "show n events around each match", nonNegativeInt)
    .option("--messages", "with --checkpoint: its message history")
    .option("--summary", "counts instead of events")
    .option("--tree", "only the delegation tree")
    .option("--json", "one JSON document")
    .option("--pretty", "with --json: indented")
    .option("--verbose", "full event bodies; streaming deltas one by one")
    .option(
      "--workspace <path>",
      "the workspace whose perstack/ store is read (default: the working directory)",
    )
    .action(async (options: LogOptions) => {
      exitCode = await logCommand(options, io)
    })

  program
    .command("install")
    .description(
      "start every MCP skill's server once and write perstack.lock (tool lists, pinned npx versions)",
    )
    .option(
      "--config <path>",
      "perstack.toml to read (default: the nearest one from the working directory up)",
    )
    .action(async (options: { config?: string }) => {
      exitCode = await installCommand(options, io)
    })

  program
    .command("run")
    .description("run an Expert on a query; prints every event as one JSON line on stdout")
    .argument("<expert>", "the coordinator Expert's key")
    .argument("[query]", "the query (or, with -i, the answer to the pending interactive tool)")
    .option(
      "--config <path>",
      "perstack.toml to read (default: the nearest one from the working directory up)",
    )
    .option("--provider <name>", "LLM provider (default: perstack.toml, else anthropic)", providerName)
    .option("--model <name>", "model (default: perstack.toml, else claude-sonnet-4-5)")
    .option(
      "--reasoning-budget <budget>",
      "none, minimal, low, medium, high or tokens (default low)",
      reasoningBudget,
    )
    .option("--max-steps <n>", "the job's step budget, across all its runs (default 100)", positiveInt)
    .option("--max-retries <n>", "retries of a failed generation (default 5)", nonNegativeInt)
    .option("--timeout <ms>", "timeout of one generation, ms (default 300000)", positiveInt)
    .option("--job-timeout <ms>", "stop the whole job after this long, ms (it stays resumable)", positiveInt)
    .option("--job-id <id>", "id for a new job")
    .option("--env-path <path>", "env file to load (repeatable; default .env then .env.local)", collect)
    .option("--continue", "continue the latest job")
    .option("--continue-job <jobId>", "continue this job")
    .option(
      "--resume-from <checkpointId>",
      "continue from this checkpoint of the coordinator (with --continue-job)",
    )
    .option("-i, --interactive-tool-call-result", "the query is the answer to the pending interactive tool")
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
    .option("--workspace <path>", "the workspace every Expert works in (default: the working directory)")
    .option("--concurrency <n>", "sandboxes running at once (default 4)", positiveInt)
    .option("--filter <types>", "print only these event types (comma-separated, repeatable)", commaList)
    .option("--verbose", "also print the sandboxes' stderr")
    .action(
      async (
        expert: string,
        query: string | undefined,
        options: RunCommandOptions & { runtime?: RunCommandOptions["sandbox"] },
      ) => {
        const { runtime, ...rest } = options
        exitCode = await runCommand(
          expert,
          query,
          { ...rest, sandbox: rest.sandbox ?? runtime },
          {
            ...io,
            writeEvent: io.writeEvent ?? ((line) => void io.stdout(line)),
          },
        )
      },
    )

  try {
    await program.parseAsync(argv, { from: "user" })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0
    if (typeof code === "string" && code.startsWith("commander.")) return EXIT_BAD_INPUT
    if (error instanceof PerstackError) {
      io.stderr(`perstack: ${error.message}\n`)
      // The store failing (a full disk) is not the user's input: the job ran and stopped.
      return error.code.startsWith("store.") ? 1 : EXIT_BAD_INPUT
    }
    throw error
  }
  return exitCode
}
