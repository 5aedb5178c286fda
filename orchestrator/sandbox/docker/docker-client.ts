// The dockerode client: DOCKER_HOST when set, else the local socket; checked once so a missing engine is one clear
// error. Loaded on first use: the CLI does not pay dockerode's start-up when no run needs Docker.
import type Docker from "dockerode"
import { dockerUnavailable } from "./docker-errors.ts"

export function dockerAddress(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.DOCKER_HOST || "unix:///var/run/docker.sock"
}

export async function createDockerClient(): Promise<Docker> {
  const { default: Dockerode } = await import("dockerode")
  return new Dockerode()
}

/** Resolves once the engine answers; throws `docker.unavailable` saying how to get one. */
export async function pingDocker(docker: Docker): Promise<void> {
  try {
    await docker.ping()
  } catch (error) {
    throw dockerUnavailable(dockerAddress(), error)
  }
}
