// The `perstack` command line. The only place that installs signal handlers or sets the exit code. Each command's
// code is loaded when that command runs: `perstack --version` loads none of it.
import { Command } from "commander"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { RUNTIME_VERSION } from "../../runtime/version.ts"
import { EXIT_BAD_INPUT } from "./exit-codes.ts"
import type { GcOptions } from "./gc-command.ts"
import { normalizeJobOptions, withJobOptions, withSingleJobOptions } from "./job-options.ts"
import type { LogOptions } from "./log-command.ts"
import { collect, eventTypeList, nonNegativeInt, positiveInt } from "./option-parsers.ts"
import type { RunCommandOptions } from "./run-command.ts"
import type { ServeCommandOptions } from "./serve-command.ts"
import type { StartCommandOptions } from "./start-command.ts"
import type { CommandIo } from "./validate.ts"

export interface MainIo extends CommandIo {
  /** aborted on Ctrl-C: running jobs stop gracefully and stay resumable */
  signal?: AbortSignal
  /** writes one NDJSON line to stdout, resolving once it is out (backpressure) */
  writeEvent?: (line: string) => Promise<void> | undefined
  /** the environment `install` reads (default: process.env) */
  env?: Readonly<Record<string, string | undefined>>
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
      const { validateCommand } = await import("./validate.ts")
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
    .option("--html <file>", "the whole job as one self-contained HTML page (- for stdout)")
    .option(
      "--workspace <path>",
      "the workspace whose perstack/ store is read (default: the working directory)",
    )
    .action(async (options: LogOptions) => {
      const { logCommand } = await import("./log-command.ts")
      exitCode = await logCommand(options, io)
    })

  program
    .command("gc")
    .description("remove Perstack containers whose orchestrator is gone (the docker backend)")
    .option("--dry-run", "list what would be removed, remove nothing")
    .option("--job <jobId>", "only this job's containers")
    .option("--all", "every Perstack container, running or not")
    .action(async (options: GcOptions) => {
      const { gcCommand } = await import("./gc-command.ts")
      exitCode = await gcCommand(options, io)
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
    .option(
      "--env-path <path>",
      "env file the skills' requiredEnv is read from (repeatable; default: perstack.toml's envPath, else .env then .env.local)",
      collect,
    )
    .action(async (options: { config?: string; envPath?: string[] }) => {
      const { installCommand } = await import("./install.ts")
      exitCode = await installCommand(options, io)
    })

  withSingleJobOptions(
    program
      .command("run")
      .description("run an Expert on a query; prints every event as one JSON line on stdout")
      .argument("<expert>", "the coordinator Expert's key")
      .argument("[query]", "the query (or, with -i, the answer to the pending interactive tool)"),
  )
    .option("--filter <types>", "print only these event types (comma-separated, repeatable)", eventTypeList)
    .option("--verbose", "also print the sandboxes' stderr")
    .action(
      async (
        expert: string,
        query: string | undefined,
        options: RunCommandOptions & { runtime?: unknown },
      ) => {
        const { runCommand } = await import("./run-command.ts")
        exitCode = await runCommand(expert, query, normalizeJobOptions(options), {
          ...io,
          writeEvent: io.writeEvent ?? ((line) => void io.stdout(line)),
        })
      },
    )

  withSingleJobOptions(
    program
      .command("start")
      .description(
        "the terminal UI: pick an Expert or a job, watch the job live, answer its questions, follow up",
      )
      .argument("[expert]", "the coordinator Expert's key (default: pick one)")
      .argument("[query]", "the query (or, with -i, the answer to the pending interactive tool)"),
  ).action(
    async (
      expert: string | undefined,
      query: string | undefined,
      options: StartCommandOptions & { runtime?: unknown },
    ) => {
      const { startCommand } = await import("./start-command.ts")
      exitCode = await startCommand(expert, query, normalizeJobOptions(options), io)
    },
  )

  withJobOptions(
    program
      .command("serve")
      .description("the HTTP execution API: start jobs, stream their events (SSE), continue and cancel them"),
  )
    .option("--root <dir>", "every job's workspace lives under it (default ./perstack-serve)")
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("--port <n>", "port (default 8080)", nonNegativeInt)
    .option(
      "--api-keys-file <path>",
      "API keys (JSON lines of {name, sha256}); or PERSTACK_API_KEYS=name:sha256,...",
    )
    .option("--max-running <n>", "jobs running at once (default 2)", positiveInt)
    .option("--max-queued <n>", "jobs waiting beyond those (default 32); more get 429", nonNegativeInt)
    .option("--max-body-bytes <n>", "largest request body (default 65536)", positiveInt)
    .option("--verbose", "also print the sandboxes' stderr")
    .option(
      "--allow-unisolated",
      "serve several API keys even where local sandboxes cannot be isolated (they could reach each other's jobs)",
    )
    .action(async (options: ServeCommandOptions & { runtime?: unknown }) => {
      const { serveCommand } = await import("./serve-command.ts")
      exitCode = await serveCommand(normalizeJobOptions(options), io)
    })

  try {
    await program.parseAsync(argv, { from: "user" })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0
    if (typeof code === "string" && code.startsWith("commander.")) return EXIT_BAD_INPUT
    if (error instanceof PerstackError) {
      io.stderr(`perstack: ${error.message}\n`)
      // The store failing (a full disk) is not the user's input: the job ran and stopped. An id that cannot name a
      // job is a bad argument like any other.
      return error.code.startsWith("store.") && error.code !== "store.invalidId" ? 1 : EXIT_BAD_INPUT
    }
    throw error
  }
  return exitCode
}
