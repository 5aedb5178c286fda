// Benchmark: `perstack run` (the bundled CLI, as users start it) on a job whose sandbox prints 1,000,000 events:
// framed, validated, stored, and printed as NDJSON (to /dev/null). Target: memory flat, under 150 MB RSS.
import { spawn } from "node:child_process"
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { ORCHESTRATOR_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"

export const title = "perstack run on a job of 1,000,000 events (sandbox stdout -> intake -> store -> stdout)"

const root = path.resolve(import.meta.dirname, "../..")

export async function run(): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-ingest-"))
  try {
    await writeFile(path.join(workspace, "perstack.toml"), '[experts."flood"]\ninstruction = "Flood."\n')
    const started = performance.now()
    const child = spawn(
      process.execPath,
      [
        ...ORCHESTRATOR_NODE_FLAGS,
        path.join(root, "dist/perstack.js"),
        "run",
        "flood",
        "go",
        "--provider",
        "ollama",
      ],
      {
        cwd: workspace,
        env: {
          PATH: process.env.PATH,
          PERSTACK_STATS: "1",
          // A job holds provider keys: the orchestrator scrubs each line for them (the sandbox never sees them).
          OPENAI_API_KEY: "sk-bench-not-a-real-key-0000000000",
          ANTHROPIC_API_KEY: "sk-ant-bench-not-a-real-key-000000",
          PERSTACK_RUNTIME_ENTRY: path.join(import.meta.dirname, "fixtures/flood-runtime.ts"),
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    )
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    const seconds = (performance.now() - started) / 1000
    const stats = /perstack stats (\{.*\})/.exec(stderr)?.[1]
    if (code !== 0 || !stats) throw new Error(`perstack run failed (exit ${code}):\n${stderr}`)
    const { maxRssKb, cpuMs } = JSON.parse(stats) as { maxRssKb: number; cpuMs: number }
    const jobs = path.join(workspace, "perstack/jobs")
    const [jobId = ""] = await readdir(jobs)
    const [runId = ""] = await readdir(path.join(jobs, jobId, "runs"))
    const size = (await stat(path.join(jobs, jobId, "runs", runId, "events.ndjson"))).size
    process.stdout.write(
      `  1,000,000 events in ${seconds.toFixed(2)} s = ${Math.round(1_000_000 / seconds).toLocaleString("en")} events/s end to end (${(size / 1048576).toFixed(0)} MB stored)\n` +
        `  perstack run: peak RSS ${(maxRssKb / 1024).toFixed(1)} MB, CPU ${(cpuMs / 1000).toFixed(2)} s\n`,
    )
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
}
