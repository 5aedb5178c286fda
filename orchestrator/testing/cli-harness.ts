// Test support: runs the `perstack` command line in-process with the given environment, collecting its output.
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import { main } from "../cli/main.ts"

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout's lines parsed as events (for `perstack run`) */
  events(): PerstackEvent[]
}

/** `env` is laid over process.env for the call and restored after (a value of "" unsets a variable). */
export async function perstackCli(
  cwd: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  let stdout = ""
  let stderr = ""
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const code = await main(argv, {
      cwd,
      stdout: (text) => {
        stdout += text
      },
      stderr: (text) => {
        stderr += text
      },
    })
    return {
      code,
      stdout,
      stderr,
      events: () =>
        stdout
          .split("\n")
          .filter(Boolean)
          .map((line) => perstackEventSchema.parse(JSON.parse(line))),
    }
  } finally {
    process.env = saved
  }
}
