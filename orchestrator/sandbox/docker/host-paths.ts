// Bind-mount sources are paths on the Docker host. When the orchestrator itself runs in a container of the same
// engine (the perstack/perstack image with the socket mounted), its paths are translated through its own mounts.
import { readFile } from "node:fs/promises"
import path from "node:path"
import type Docker from "dockerode"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

export interface HostPaths {
  /** the orchestrator's own container, when the engine knows it */
  readonly container?: string
  /** the host path of a path the orchestrator sees; throws when the engine's host cannot see it */
  toHost(local: string): string
}

interface MountPoint {
  destination: string
  source: string
}

/**
 * Container ids in a mountinfo text: Docker mounts a container's own /etc/hostname, /etc/hosts and
 * /etc/resolv.conf from .../containers/<id>/. Only those mount points count: on a host, other containers' paths
 * show up too (a pod's shareable /dev/shm is mounted from .../containers/<id>/mounts/shm in the host's namespace).
 */
export function containerIdsInMountinfo(info: string): string[] {
  const own =
    /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf) \/etc\/(?:hostname|hosts|resolv\.conf) /g
  return [...new Set([...info.matchAll(own)].map((match) => match[1] ?? ""))]
}

async function ownContainerCandidates(): Promise<string[]> {
  return containerIdsInMountinfo(await readFile("/proc/self/mountinfo", "utf8").catch(() => ""))
}

export async function detectHostPaths(docker: Docker): Promise<HostPaths> {
  for (const id of await ownContainerCandidates()) {
    // Unknown to this engine: we run in a container of another one (Docker beside us, not around us).
    const inspected = await docker
      .getContainer(id)
      .inspect()
      .catch(() => undefined)
    if (!inspected) continue
    const mounts: MountPoint[] = (inspected.Mounts ?? [])
      .filter((mount) => mount.Source && mount.Destination)
      .map((mount) => ({ destination: mount.Destination, source: mount.Source }))
      .sort((a, b) => b.destination.length - a.destination.length)
    return { container: id, toHost: (local) => translate(local, mounts, id) }
  }
  return { toHost: (local) => local }
}

function translate(local: string, mounts: readonly MountPoint[], container: string): string {
  const absolute = path.resolve(local)
  for (const mount of mounts) {
    const relative = path.relative(mount.destination, absolute)
    if (relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))) {
      return path.join(mount.source, relative)
    }
  }
  throw new PerstackError(
    "docker.pathNotShared",
    `${absolute} is inside the orchestrator's container ${container.slice(0, 12)}, which the Docker host cannot see: mount it from the host (docker run -v /host/dir:${absolute} ...)`,
  )
}
