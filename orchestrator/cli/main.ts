// The `perstack` command line. The only place that installs signal handlers or sets the exit code.
import { Command } from "commander"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { RUNTIME_VERSION } from "../../runtime/version.ts"
import { type CommandIo, validateCommand } from "./validate.ts"

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
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

  try {
    await program.parseAsync(argv, { from: "user" })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0
    if (typeof code === "string" && code.startsWith("commander.")) return 2
    if (error instanceof PerstackError) {
      io.stderr(`${error.message}\n`)
      return 1
    }
    throw error
  }
  return exitCode
}
