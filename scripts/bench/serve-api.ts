// Benchmark: `perstack serve` on loopback with the local backend: API latency (start, get, list) and event delivery
// lag, from the moment the sandbox made an event (its timestamp, just before it goes to stdout) to the SSE client.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { createApiClient } from "../../orchestrator/client/api-client.ts"
import { parseConfigText } from "../../orchestrator/config/load-config.ts"
import { runJob } from "../../orchestrator/job/run-job.ts"
import { resolveSettings } from "../../orchestrator/job/settings.ts"
import { createLocalBackend } from "../../orchestrator/sandbox/local/local-backend.ts"
import { ApiKeys, sha256Hex } from "../../orchestrator/serve/api-keys.ts"
import { startServe } from "../../orchestrator/serve/serve-server.ts"
import { startExpertScript } from "../../orchestrator/testing/expert-script.ts"

export const title =
  "Execution API on loopback: request latency, and event lag from sandbox stdout to the SSE client"

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN
}
const figures = (name: string, values: number[]) =>
  `  ${name.padEnd(34)} p50 ${percentile(values, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(values, 99).toFixed(1).padStart(6)} ms  (${values.length} samples)\n`

async function timed<T>(samples: number[], call: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await call()
  samples.push(performance.now() - started)
  return result
}

export async function run(runs: number): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), "perstack-bench-serve-"))
  // Each job streams a long answer in small deltas: many events per run, so the lag has a distribution.
  await using llm = await startExpertScript({
    writer: Array.from({ length: runs * 2 }, () => ({
      reasoning: "think ".repeat(400),
      text: "done",
      chunkSize: 10,
      delayMs: 5,
    })),
  })
  const { config } = parseConfigText(
    `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llm.url}"\n[experts."writer"]\ninstruction = "Write."\n`,
    "perstack.toml",
  )
  const apiKey = "psk-bench"
  await using server = await startServe({
    root,
    config,
    settings: { reasoningBudget: "none" },
    env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-bench" },
    apiKeys: new ApiKeys([{ name: "bench", sha256: sha256Hex(apiKey) }]),
    backendFor: () => createLocalBackend(),
    port: 0,
  })
  const client = createApiClient({ baseUrl: server.url, apiKey })
  const start: number[] = []
  const get: number[] = []
  const list: number[] = []
  const lag: number[] = []
  const firstOfRun: number[] = []
  const direct: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const started = await timed(start, () => client.jobs.start({ expertKey: "writer", query: `job ${i}` }))
      if (!started.ok) throw new Error(started.error.message)
      const jobId = started.data.data.job.id
      const stream = await client.jobs.stream(jobId)
      if (!stream.ok) throw new Error(stream.error.message)
      const seenRuns = new Set<string>()
      for await (const event of stream.data.events) {
        const delay = Date.now() - event.timestamp
        // The orchestrator's own events (sandboxStarted/Exited) are not from the sandbox's stdout.
        if (event.type === "sandboxStarted" || event.type === "sandboxExited") continue
        if (seenRuns.has(event.runId)) lag.push(delay)
        else {
          seenRuns.add(event.runId)
          firstOfRun.push(delay)
        }
      }
      await timed(get, () => client.jobs.get(jobId))
      await timed(list, () => client.jobs.list())
    }
    // The same jobs straight through the orchestrator (onEvent): the lag before the API has anything to do.
    for (let i = 0; i < runs; i++) {
      await runJob({
        config,
        expertKey: "writer",
        query: `direct ${i}`,
        workspace: root,
        backend: createLocalBackend(),
        settings: resolveSettings(config, { reasoningBudget: "none" }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-bench" },
        onEvent: (event) => {
          if (event.type !== "sandboxStarted" && event.type !== "sandboxExited")
            direct.push(Date.now() - event.timestamp)
        },
      })
    }
  } finally {
    await server.close()
    await rm(root, { recursive: true, force: true })
  }
  process.stdout.write(
    figures("POST /jobs (accept and queue)", start) +
      figures("GET /jobs/:id", get) +
      figures(`GET /jobs (list of up to ${runs})`, list) +
      figures("event lag, stdout -> SSE client", lag) +
      figures("  a run's first event (settle wait)", firstOfRun) +
      figures("  same events, orchestrator onEvent", direct),
  )
}
