// Test support for the docker backend: a label for this test session's containers, a sweep of them, the images,
// and workspaces owned the way a user's are.
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { chown, mkdtemp, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import Docker from "dockerode"
import {
  createDockerBackend,
  type DockerBackendOptions,
} from "../../orchestrator/sandbox/docker/docker-backend.ts"
import { LABEL } from "../../orchestrator/sandbox/docker/labels.ts"

const repo = path.resolve(import.meta.dirname, "../..")
const exec = promisify(execFile)

/** On every container this test process starts (through the backend's extra labels): the afterAll sweep finds them. */
export const SESSION_LABEL = "ai.perstack.test-session"
export const SESSION = randomUUID()

export const docker = new Docker()

export function dockerBackend(options: DockerBackendOptions = {}) {
  return createDockerBackend({ docker, ...options, labels: { [SESSION_LABEL]: SESSION, ...options.labels } })
}

/** Builds the images when missing or stale (seconds, from Docker's cache and the cached base); needs dist/. */
export async function ensureImages(which: "sandbox" | "perstack" | "all" = "sandbox"): Promise<void> {
  await exec("bash", [path.join(repo, "scripts/build-images.sh"), which], {
    cwd: repo,
    maxBuffer: 16 * 1024 * 1024,
  })
}

/** Every container of this session, running or not. */
export async function sessionContainers(extra: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
  const label = [
    `${SESSION_LABEL}=${SESSION}`,
    ...Object.entries(extra).map(([key, value]) => `${key}=${value}`),
  ]
  return docker.listContainers({ all: true, filters: { label } })
}

/**
 * Resolves once no container matches (a run's container is removed just after its run ends, off the path of the
 * next run); fails after `timeoutMs`.
 */
export async function eventuallyNone(
  list: () => Promise<Docker.ContainerInfo[]>,
  timeoutMs = 10_000,
): Promise<Docker.ContainerInfo[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await list()
    if (found.length === 0 || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Every network of this session (a job's locked-down network carries the backend's extra labels too). */
export async function sessionNetworks(
  extra: Record<string, string> = {},
): Promise<Docker.NetworkInspectInfo[]> {
  const label = [
    `${SESSION_LABEL}=${SESSION}`,
    ...Object.entries(extra).map(([key, value]) => `${key}=${value}`),
  ]
  return docker.listNetworks({ filters: { label } })
}

/** Removes whatever this session left (a failed test must not leave containers or networks behind). */
export async function sweepSession(): Promise<number> {
  const leftovers = await sessionContainers()
  await Promise.all(
    leftovers.map((info) =>
      docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  )
  // After the containers: a network cannot go while one is attached.
  const networks = await sessionNetworks()
  await Promise.all(
    networks.map((info) =>
      docker
        .getNetwork(info.Id)
        .remove()
        .catch(() => {}),
    ),
  )
  return leftovers.length + networks.length
}

/** Every Perstack container of a job, for tests that run the CLI (which cannot take our session label). */
export async function jobContainers(jobId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.job}=${jobId}`] } })
}

/**
 * A fresh workspace owned by uid 1000, as a user's own folder is: the sandbox then runs as that user, not root.
 * (These machines run the tests as root.)
 */
export async function userWorkspace(owner = { uid: 1000, gid: 1000 }) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-docker-")))
  if (process.getuid?.() === 0) await chown(dir, owner.uid, owner.gid)
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

/** The host's loopback URL of a server listening on 0.0.0.0: what a user writes in perstack.toml. */
export function loopbackUrl(url: string): string {
  const parsed = new URL(url)
  parsed.hostname = "127.0.0.1"
  return parsed.toString().replace(/\/$/, "")
}
