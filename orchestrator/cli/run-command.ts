// `perstack run <expert> [query]`: runs a job and prints its merged event stream as NDJSON on stdout.
import path from "node:path"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { type JobResult, type RunOptions, run } from "../api/run.ts"
import { findConfigFile } from "../config/load-config.ts"
import { checkEventTypes } from "./event-type-check.ts"
import { EXIT_CODES } from "./exit-codes.ts"
import type { SingleJobCommandOptions } from "./job-options.ts"
import type { CommandIo } from "./validate.ts"

export interface RunCommandOptions extends SingleJobCommandOptions {
  verbose?: boolean
  filter?: string[]
}

export async function runCommand(
  expertKey: string,
  query: string | undefined,
  options: RunCommandOptions,
  io: CommandIo & { signal?: AbortSignal; writeEvent: (line: string) => Promise<void> | undefined },
): Promise<number> {
  const {
    config,
    continue: latest,
    continueJob,
    interactiveToolCallResult,
    verbose,
    workspace,
    filter,
    ...settings
  } = options
  if (filter) checkEventTypes(filter)
  const wanted = filter && filter.length > 0 ? new Set(filter) : undefined
  const request: RunOptions = {
    ...settings,
    expert: expertKey,
    ...(query !== undefined ? { query } : {}),
    ...(config ? { configPath: path.resolve(io.cwd, config) } : {}),
    workspace: path.resolve(io.cwd, workspace ?? "."),
    ...(continueJob || latest ? { continueJob: continueJob ?? "latest" } : {}),
    ...(interactiveToolCallResult ? { interactiveAnswer: true } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    onEvent: (event: PerstackEvent, line?: string) =>
      wanted && !wanted.has(event.type) ? undefined : io.writeEvent(`${line ?? JSON.stringify(event)}\n`),
    onWarning: (message: string) => io.stderr(`perstack: warning: ${message}\n`),
    ...(verbose
      ? {
          onSandboxStderr: (runId: string, chunk: Buffer) =>
            io.stderr(prefixLines(`[${runId}] `, chunk.toString("utf8"))),
        }
      : {}),
  }
  // The config is searched from the working directory (as `perstack validate` does), not from the workspace.
  if (!config) request.configPath = await findConfigFile({ cwd: io.cwd })
  const result = await run(request)
  io.stderr(`${summary(expertKey, result)}\n`)
  return EXIT_CODES[result.status]
}

function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix)
}

function summary(expertKey: string, result: JobResult): string {
  const { job } = result
  const tokens = `${job.usage.inputTokens} tokens in (${job.usage.cachedInputTokens} cached), ${job.usage.outputTokens} out`
  const head = `perstack: job ${job.id} ${result.status} after ${job.totalSteps} steps; ${tokens}`
  switch (result.status) {
    case "stoppedByInteractiveTool": {
      const call = result.checkpoint?.pendingToolCalls?.[0]
      return `${head}\nwaiting for an answer to ${call ? `${call.toolName} ${JSON.stringify(call.args)}` : "an interactive tool"}; answer with:\n  perstack run ${expertKey} --continue-job ${job.id} -i "<answer>"`
    }
    case "stoppedByCancel":
    case "stoppedByExceededMaxSteps":
      return `${head}\ncontinue it with: perstack run ${expertKey} --continue-job ${job.id}${result.status === "stoppedByExceededMaxSteps" ? " --max-steps <more>" : ""} ["<query>"]`
    case "stoppedByError":
      return `${head}\n${result.error ?? ""}`
    default:
      return head
  }
}
