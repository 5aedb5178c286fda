// exec: runs a program in the workspace, without a shell, with a filtered environment, a timeout and capped output.
import { stat } from "node:fs/promises"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { runCommand } from "../command-runner.ts"
import { buildExecEnv } from "../exec-env.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

const DEFAULT_TIMEOUT_MS = 60_000
/** the longest `timeout` exec accepts */
export const EXEC_MAX_TIMEOUT_MS = 600_000
/** kept per stream; the rest is dropped from the middle */
const MAX_OUTPUT_BYTES = 1024 * 1024

export const execTool = defineBaseTool({
  name: "exec",
  description: [
    "Run a program in the workspace and get its exit code and output.",
    'The program is started directly, without a shell: `command` is the program (found on PATH) and `args` its arguments, so no quoting, globbing, pipes or `&&`. For shell syntax use command "bash" with args ["-c", "<script>"].',
    "stdin is empty. The environment holds only PATH, HOME, locale, proxy and similar basics plus your `env`; PATH, HOME, SHELL, NODE_OPTIONS, LD_* and other variables that change which code runs cannot be set.",
    "A non-zero exit code is reported, not treated as an error. On timeout the program and every process it started are killed and timedOut is true.",
    "Each of stdout and stderr is capped at 1 MiB (the middle is dropped and `truncated` says how many bytes). A background process must send its output to a file (`cmd > out.log 2>&1 &`): output still attached after the command exits is cut off.",
    "Returns {exitCode, signal?, timedOut?, stdout?, stderr?, truncated?}.",
  ].join("\n"),
  inputSchema: z.object({
    command: z.string().min(1).describe('The program to run, e.g. "npm", "python3", "bash", "./build.sh".'),
    args: z.array(z.string()).default([]).describe("Its arguments, one string per argument."),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment variables."),
    cwd: z
      .string()
      .default(".")
      .describe("Working directory, relative to the workspace (default: the workspace)."),
    stdout: z.boolean().default(true).describe("Include stdout in the result."),
    stderr: z.boolean().default(true).describe("Include stderr in the result."),
    timeout: z
      .number()
      .int()
      .positive()
      .max(EXEC_MAX_TIMEOUT_MS)
      .default(DEFAULT_TIMEOUT_MS)
      .describe(
        `Milliseconds before the program is killed (default ${DEFAULT_TIMEOUT_MS}, at most ${EXEC_MAX_TIMEOUT_MS}).`,
      ),
  }),
  async run(args, context) {
    const env = buildExecEnv({
      sandboxEnv: context.env,
      requested: args.env,
      ...(context.forwardedEnv ? { forwarded: context.forwardedEnv } : {}),
    })
    const cwd = await resolveWorkspacePath(context.workspace, args.cwd)
    if (!(await stat(cwd.absolute)).isDirectory()) {
      throw new PerstackError("exec.cwdNotDirectory", `cwd "${args.cwd}" is not a directory.`)
    }
    const outcome = await runCommand({
      command: args.command,
      args: args.args,
      cwd: cwd.absolute,
      env,
      timeoutMs: args.timeout,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      captureStdout: args.stdout,
      captureStderr: args.stderr,
      signal: context.signal,
    })
    const truncated: { stdout?: number; stderr?: number } = {}
    if (outcome.stdout?.droppedBytes) truncated.stdout = outcome.stdout.droppedBytes
    if (outcome.stderr?.droppedBytes) truncated.stderr = outcome.stderr.droppedBytes
    return jsonResult({
      exitCode: outcome.exitCode,
      ...(outcome.signal ? { signal: outcome.signal } : {}),
      ...(outcome.timedOut ? { timedOut: true } : {}),
      ...(outcome.aborted ? { aborted: true } : {}),
      ...(outcome.stdout ? { stdout: outcome.stdout.text } : {}),
      ...(outcome.stderr ? { stderr: outcome.stderr.text } : {}),
      ...(Object.keys(truncated).length > 0 ? { truncated } : {}),
    })
  },
})
