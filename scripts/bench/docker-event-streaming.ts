// Benchmark: event streaming from a container: a sandbox prints FLOOD_EVENTS events as fast as it can; the docker
// backend demultiplexes its attach stream and the intake frames and validates every line. The local backend (a
// pipe from a child process) runs the same program for comparison. Events/s and MB/s, medians.
import path from "node:path"
import { benchWorkspace, dockerReady, median } from "../../e2e/support/docker-bench.ts"
import { buildFixtureImage, removeFixtureImage } from "../../e2e/support/fixture-image.ts"
import { newIntakeCounts, readSandboxEvents } from "../../orchestrator/intake/event-intake.ts"
import { createDockerBackend } from "../../orchestrator/sandbox/docker/docker-backend.ts"
import { createLocalBackend } from "../../orchestrator/sandbox/local/local-backend.ts"
import type { SandboxBackend } from "../../orchestrator/sandbox/sandbox.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"

export const title =
  "event streaming from a sandbox (stdout -> demultiplexer -> intake), docker against local"

const EVENTS = 300_000
const flood = path.resolve(import.meta.dirname, "fixtures/flood-runtime.ts")

async function measure(backend: SandboxBackend, workspace: string, runId: string) {
  const spec = buildRunSpec({ workspace, llmUrl: "http://127.0.0.1:9/v1", runId })
  const sandbox = await backend.start({
    spec,
    env: { FLOOD_EVENTS: String(EVENTS), PATH: process.env.PATH ?? "" },
    workspace,
    labels: { jobId: spec.jobId, runId },
  })
  const counts = newIntakeCounts()
  // From the first event to the last: the stream's rate, not the sandbox's start.
  let started = 0
  for await (const _ of readSandboxEvents(sandbox.stdout, { expect: { jobId: spec.jobId, runId }, counts })) {
    if (started === 0) started = performance.now()
  }
  const seconds = (performance.now() - started) / 1000
  await sandbox.wait()
  return { eventsPerSecond: counts.events / seconds, mbPerSecond: counts.bytes / 1024 ** 2 / seconds }
}

export async function run(runs: number): Promise<void> {
  const docker = await dockerReady()
  if (!docker) return
  const image = await buildFixtureImage({ name: "flood", entry: flood })
  await using ws = await benchWorkspace()
  try {
    const backends: Array<[string, SandboxBackend]> = [
      ["docker (attach stream, no log driver)", createDockerBackend({ docker, image })],
      ["local (a child process's pipe)", createLocalBackend({ runtimeEntry: flood })],
    ]
    const rounds = Math.max(3, Math.min(runs, 5))
    for (const [label, backend] of backends) {
      const results = []
      for (let i = 0; i < rounds; i++) results.push(await measure(backend, ws.dir, `flood-${i}`))
      const events = median(results.map((result) => result.eventsPerSecond))
      const mb = median(results.map((result) => result.mbPerSecond))
      process.stdout.write(
        `  ${label.padEnd(40)} ${Math.round(events).toLocaleString("en")} events/s, ${mb.toFixed(1)} MB/s  (${EVENTS.toLocaleString("en")} events, median of ${rounds})\n`,
      )
    }
  } finally {
    await removeFixtureImage(image)
  }
}
