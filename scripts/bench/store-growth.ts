// Benchmark: how the job store and the sandbox's stdout grow with a run's steps. A 50-step run through the real
// orchestrator (local backend, scripted LLM) whose every step reads a ~100 KB file, so each tool result is ~100 KB.
// Linear growth is ~constant bytes per step; a store that repeats the history grows by more each step.
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { parseConfigText } from "../../orchestrator/config/load-config.ts"
import { runJob } from "../../orchestrator/job/run-job.ts"
import { resolveSettings } from "../../orchestrator/job/settings.ts"
import { createLocalBackend } from "../../orchestrator/sandbox/local/local-backend.ts"
import { startExpertScript } from "../../orchestrator/testing/expert-script.ts"

export const title = "job store and stdout bytes per step: 50 steps, each with a ~100 KB tool result"

const STEPS = 50
const RESULT_BYTES = 100 * 1024
const MB = 1024 * 1024

async function bytesUnder(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

export async function run(): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-store-"))
  try {
    // Printable lines, so the file is the same size as text in a tool result (JSON escapes only the newlines).
    const line = `${"x".repeat(99)}\n`
    await writeFile(path.join(workspace, "big.txt"), line.repeat(Math.ceil(RESULT_BYTES / line.length)))
    await using llm = await startExpertScript({
      reader: [
        ...Array.from({ length: STEPS - 1 }, () => ({
          toolCalls: [{ name: "readTextFile", arguments: { path: "big.txt" } }],
        })),
        { text: "read it all" },
      ],
    })
    const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llm.url}"\n[experts."reader"]\ninstruction = "Read."\n`
    const { config } = parseConfigText(toml, "perstack.toml")
    const store = path.join(workspace, "perstack")
    const afterStep: number[] = []
    let stdoutBytes = 0
    const started = performance.now()
    const result = await runJob({
      config,
      expertKey: "reader",
      query: "read big.txt again and again",
      workspace,
      backend: createLocalBackend(),
      settings: resolveSettings(config, { reasoningBudget: "none", maxSteps: STEPS + 10 }),
      env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-bench" },
      onEvent: async (event, text) => {
        // What the sandbox printed (orchestrator events have no line).
        if (text !== undefined) stdoutBytes += Buffer.byteLength(text) + 1
        if (event.type === "continueToNextStep" || event.type === "completeRun") {
          afterStep.push(await bytesUnder(store))
        }
      },
    })
    const seconds = (performance.now() - started) / 1000
    if (result.status !== "completed" || afterStep.length !== STEPS)
      throw new Error(`the run did not take ${STEPS} steps: ${result.status}, ${afterStep.length} steps`)
    const total = await bytesUnder(store)
    const step = (n: number) => (afterStep[n - 1] ?? 0) - (afterStep[n - 2] ?? 0)
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`
    process.stdout.write(
      `  store bytes added by step 2: ${kb(step(2))}, step 10: ${kb(step(10))}, step 25: ${kb(step(25))}, step 50: ${kb(step(50))}\n` +
        `  store total after ${STEPS} steps: ${(total / MB).toFixed(1)} MB (${kb(total / STEPS)} per step on average)\n` +
        `  sandbox stdout: ${(stdoutBytes / MB).toFixed(1)} MB (${kb(stdoutBytes / STEPS)} per step); ${seconds.toFixed(1)} s\n`,
    )
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
}
