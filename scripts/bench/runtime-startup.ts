// Benchmark: start-up and cost of one runtime segment (the sandbox's program) against the scripted LLM server.
// Targets (2-core machine): first LLM request < 250 ms median, peak RSS < 90 MB.
import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { RUNTIME_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

const root = path.resolve(import.meta.dirname, "../..")

interface Sample {
  firstRequestMs: number
  wallMs: number
  cpuMs: number
  maxRssMb: number
}

async function runOnce(
  command: string[],
  specFile: string,
  requestsBefore: () => number,
  firstRequestAt: () => number,
): Promise<Sample> {
  const before = requestsBefore()
  const started = Date.now()
  const child = spawn(process.execPath, [...command, specFile], {
    env: { PATH: process.env.PATH ?? "", OPENAI_API_KEY: "sk-bench", PERSTACK_RUNTIME_STATS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stderr = ""
  let lines = 0
  child.stdout.on("data", (chunk: Buffer) => {
    lines += chunk.toString("utf8").split("\n").length - 1
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
  const wallMs = Date.now() - started
  const stats = /perstack-runtime stats (\{.*\})/.exec(stderr)?.[1]
  if (code !== 0 || !stats || requestsBefore() === before) {
    throw new Error(`runtime failed (exit ${code}, ${lines} event lines):\n${stderr}`)
  }
  const parsed = JSON.parse(stats) as { cpuMs: number; maxRssKb: number }
  return {
    firstRequestMs: firstRequestAt() - started,
    wallMs,
    cpuMs: parsed.cpuMs,
    maxRssMb: parsed.maxRssKb / 1024,
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
const fmt = (values: number[], unit: string) =>
  `median ${median(values).toFixed(1)} ${unit}  (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`

async function bench(label: string, command: string[], runs: number) {
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-"))
  // One segment: a tool call that writes a file, then the final answer.
  await using llm = await startScriptedLlmServer({})
  const specFile = path.join(workspace, "..", `${path.basename(workspace)}.json`)
  await writeFile(specFile, JSON.stringify(buildRunSpec({ workspace, llmUrl: llm.url })))
  const samples: Sample[] = []
  try {
    for (let i = 0; i < runs; i++) {
      llm.push(
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "out.md", text: "# bench\n" } }] },
        { text: "done" },
      )
      const firstIndex = llm.requests.length
      samples.push(
        await runOnce(
          command,
          specFile,
          () => llm.requests.length,
          () => llm.requests[firstIndex]?.receivedAt ?? Number.NaN,
        ),
      )
    }
  } finally {
    await rm(workspace, { recursive: true, force: true })
    await rm(specFile, { force: true })
  }
  const [first, ...rest] = samples
  const warm = rest.length > 0 ? rest : samples
  process.stdout.write(
    `\n${label} (${runs} runs; first run ${first?.firstRequestMs} ms to first request, compile cache cold)\n`,
  )
  process.stdout.write(
    `  process start -> first LLM request  ${fmt(
      warm.map((s) => s.firstRequestMs),
      "ms",
    )}\n`,
  )
  process.stdout.write(
    `  wall time of the segment            ${fmt(
      warm.map((s) => s.wallMs),
      "ms",
    )}\n`,
  )
  process.stdout.write(
    `  CPU time (user + system)            ${fmt(
      warm.map((s) => s.cpuMs),
      "ms",
    )}\n`,
  )
  process.stdout.write(
    `  peak RSS                            ${fmt(
      warm.map((s) => s.maxRssMb),
      "MB",
    )}\n`,
  )
}

export const title = "runtime start-up (one segment: 2 LLM generations + 1 base-skill tool call)"

export async function run(runs: number): Promise<void> {
  await bench(
    `bundled runtime, as every backend starts it (node ${RUNTIME_NODE_FLAGS.join(" ")} dist/runtime/perstack-runtime.js)`,
    [...RUNTIME_NODE_FLAGS, path.join(root, "dist/runtime/perstack-runtime.js")],
    runs,
  )
  await bench(
    "unbundled source, no flags (node runtime/cli/bin.ts), for comparison",
    [path.join(root, "runtime/cli/bin.ts")],
    Math.min(runs, 5),
  )
}
