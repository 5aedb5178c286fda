// Benchmark: orchestrator overhead per delegation on the local backend, from the end of the LLM reply that calls
// the delegate to the delegate's first LLM request. Each delegate is a fresh sandbox process. Target: 150 ms median.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { parseConfigText } from "../../orchestrator/config/load-config.ts"
import { runJob } from "../../orchestrator/job/run-job.ts"
import { resolveSettings } from "../../orchestrator/job/settings.ts"
import { createLocalBackend } from "../../orchestrator/sandbox/local/local-backend.ts"
import { expertOf, startExpertScript } from "../../orchestrator/testing/expert-script.ts"

export const title =
  "delegation overhead (reply calling a delegate -> the delegate's first LLM request), local backend"

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

export async function run(runs: number): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-delegation-"))
  const replyDone: number[] = []
  const overheads: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      await using llm = await startExpertScript({
        lead: [
          () => {
            // The reply is produced now and written at once (tiny, loopback): this is "the end of the LLM reply".
            replyDone.push(Date.now())
            return { toolCalls: [{ name: "delegate__helper", arguments: { query: "help" } }] }
          },
          { text: "done" },
        ],
        helper: [{ text: "helped" }],
      })
      const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llm.url}"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
      const { config } = parseConfigText(toml, "perstack.toml")
      await runJob({
        config,
        expertKey: "lead",
        query: "go",
        workspace,
        backend: createLocalBackend(),
        settings: resolveSettings(config, { reasoningBudget: "none" }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-bench" },
      })
      const helperFirst = llm.requests.find((request) => expertOf(request) === "helper")
      overheads.push((helperFirst?.receivedAt ?? Number.NaN) - (replyDone.at(-1) ?? Number.NaN))
    }
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
  process.stdout.write(
    `  overhead per delegation  median ${median(overheads)} ms  (min ${Math.min(...overheads)}, max ${Math.max(...overheads)}, ${runs} runs)\n`,
  )
}
