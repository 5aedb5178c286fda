// Support for the docker benchmarks (scripts/bench/docker-*.ts): is an engine there, a workspace owned like a user's, figures.
import { chown, mkdtemp, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import type Docker from "dockerode"
import { createDockerClient } from "../../orchestrator/sandbox/docker/docker-client.ts"
import { ensureImages } from "./docker-session.ts"

/**
 * The engine, with the sandbox images built from the current dist/; or undefined (and a line saying so) when no
 * engine answers, so that the other benchmarks still run.
 */
export async function dockerReady(): Promise<Docker | undefined> {
  const docker = await createDockerClient()
  try {
    await docker.ping()
  } catch (error) {
    process.stdout.write(
      `  skipped: no Docker engine answers (${(error as Error).message}); see make docker\n`,
    )
    return undefined
  }
  await ensureImages("sandbox")
  return docker
}

export async function benchWorkspace() {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-bench-docker-")))
  if (process.getuid?.() === 0) await chown(dir, 1000, 1000)
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

export function summary(label: string, values: number[]): string {
  const round = (value: number) => Math.round(value)
  return `  ${label.padEnd(48)} median ${round(median(values))} ms  (min ${round(Math.min(...values))}, max ${round(Math.max(...values))}, ${values.length} runs)`
}
