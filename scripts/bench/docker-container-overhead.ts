// Benchmark: the docker backend's cost per run against the floor, `docker run --rm IMAGE true`. Target: within 1.3x.
// The backend's run is a whole sandbox (spec folder, create, attach, start, wait, inspect, remove) whose runtime is a
// program that exits at once: what is left is Docker's cost and ours. Needs a Docker engine and `make images`.
import { execFile } from "node:child_process"
import path from "node:path"
import { promisify } from "node:util"
import { benchWorkspace, dockerReady, median, summary } from "../../e2e/support/docker-bench.ts"
import { buildFixtureImage, removeFixtureImage } from "../../e2e/support/fixture-image.ts"
import { createDockerBackend } from "../../orchestrator/sandbox/docker/docker-backend.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"

export const title = "docker backend: cost of one run's container, against `docker run --rm IMAGE true`"

const exec = promisify(execFile)

export async function run(runs: number): Promise<void> {
  const docker = await dockerReady()
  if (!docker) return
  const image = await buildFixtureImage({
    name: "empty",
    entry: path.resolve(import.meta.dirname, "../../e2e/support/fixtures/empty-runtime.mjs"),
  })
  await using ws = await benchWorkspace()
  try {
    const floor: number[] = []
    const backendCold: number[] = []
    const nodeInside: number[] = []
    const backend = createDockerBackend({ docker, image })
    const spec = buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" })
    // One of each first: image layers and the backend's one-time checks warm up outside the figures.
    for (let i = -1; i < runs; i++) {
      let started = performance.now()
      await exec("/usr/bin/docker", ["run", "--rm", image, "true"])
      if (i >= 0) floor.push(performance.now() - started)

      started = performance.now()
      await exec("/usr/bin/docker", ["run", "--rm", "--entrypoint", "node", image, "-e", "0"])
      if (i >= 0) nodeInside.push(performance.now() - started)

      started = performance.now()
      const sandbox = await backend.start({
        spec: { ...spec, runId: `bench-${i + 1}` },
        env: {},
        workspace: ws.dir,
        labels: { jobId: "bench-overhead", runId: `bench-${i + 1}` },
      })
      for await (const _ of sandbox.stdout) {
        // drained
      }
      await sandbox.wait()
      if (i >= 0) backendCold.push(performance.now() - started)
    }
    process.stdout.write(`${summary("docker run --rm IMAGE true (the floor)", floor)}\n`)
    process.stdout.write(`${summary("docker run --rm IMAGE node -e 0", nodeInside)}\n`)
    process.stdout.write(`${summary("docker backend, one run (node exits at once)", backendCold)}\n`)
    process.stdout.write(
      `  ratio to the floor: ${(median(backendCold) / median(floor)).toFixed(2)}x (target <= 1.3x)\n`,
    )
  } finally {
    await removeFixtureImage(image)
  }
}
