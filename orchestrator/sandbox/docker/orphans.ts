// Finds and removes Perstack's containers and networks whose orchestrator is gone, by label: `perstack gc`, and
// each job's own sweep of what an earlier, crashed attempt of it left behind.
import { hostname } from "node:os"
import type Docker from "dockerode"
import { removeNetwork } from "./egress-network.ts"
import { LABEL, labelFilter, type Owner } from "./labels.ts"

export interface ManagedContainer {
  id: string
  name: string
  state: string
  labels: Record<string, string>
  /** why it is an orphan, or undefined when its owner may still be using it */
  orphanBecause?: string
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** How long an ended container is left to its owner (which removes it itself) before it counts as an orphan. */
const ENDED_GRACE_S = 60

interface OwnerContext {
  runningContainers: ReadonlySet<string>
  host: string
  now: number
  alive: (pid: number) => boolean
}

/** Whether the orchestrator named by these labels is provably gone; unknown owners count as alive. */
function ownerGoneReason(
  labels: Readonly<Record<string, string>>,
  context: OwnerContext,
): string | undefined {
  const ownerContainer = labels[LABEL.ownerContainer]
  if (ownerContainer !== undefined) {
    if (!context.runningContainers.has(ownerContainer))
      return `its orchestrator's container ${ownerContainer.slice(0, 12)} is gone`
  } else if (labels[LABEL.ownerHost] === context.host) {
    const pid = Number(labels[LABEL.ownerPid])
    if (Number.isInteger(pid) && pid > 0 && !context.alive(pid))
      return `its orchestrator (pid ${pid}) is gone`
  }
  return undefined
}

/** Whether a container's owner is provably gone, judged from its labels; unknown owners count as alive. */
export function orphanReason(info: Docker.ContainerInfo, context: OwnerContext): string | undefined {
  const gone = ownerGoneReason(info.Labels ?? {}, context)
  if (gone) return gone
  if (
    info.State !== "running" &&
    info.State !== "restarting" &&
    context.now / 1000 - info.Created > ENDED_GRACE_S
  ) {
    return `it is ${info.State} and nobody removed it`
  }
  return undefined
}

export async function listManaged(
  docker: Docker,
  options: { jobId?: string; now?: number } = {},
): Promise<ManagedContainer[]> {
  const filters = labelFilter({
    [LABEL.managed]: true,
    ...(options.jobId ? { [LABEL.job]: options.jobId } : {}),
  })
  const [mine, running] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listContainers({ all: false }),
  ])
  const context = {
    runningContainers: new Set(running.map((info) => info.Id)),
    host: hostname(),
    now: options.now ?? Date.now(),
    alive: pidAlive,
  }
  return mine.map((info) => {
    const reason = orphanReason(info, context)
    return {
      id: info.Id,
      name: (info.Names?.[0] ?? "").replace(/^\//, ""),
      state: info.State,
      labels: info.Labels ?? {},
      ...(reason ? { orphanBecause: reason } : {}),
    }
  })
}

export async function removeContainer(docker: Docker, id: string): Promise<void> {
  await docker
    .getContainer(id)
    .remove({ force: true })
    .catch((error: { statusCode?: number }) => {
      // Already gone (its owner removed it meanwhile), or being removed.
      if (error.statusCode !== 404 && error.statusCode !== 409) throw error
    })
}

export interface ManagedNetwork {
  id: string
  name: string
  labels: Record<string, string>
  /** why it is an orphan, or undefined when its owner may still be using it */
  orphanBecause?: string
}

/** Perstack's networks (a job's locked-down network): an orphan once its orchestrator is gone. */
export async function listManagedNetworks(
  docker: Docker,
  options: { jobId?: string } = {},
): Promise<ManagedNetwork[]> {
  const filters = labelFilter({
    [LABEL.managed]: true,
    ...(options.jobId ? { [LABEL.job]: options.jobId } : {}),
  })
  const [mine, running] = await Promise.all([
    docker.listNetworks({ filters }),
    docker.listContainers({ all: false }),
  ])
  const context = {
    runningContainers: new Set(running.map((info) => info.Id)),
    host: hostname(),
    now: Date.now(),
    alive: pidAlive,
  }
  return mine.map((info) => {
    const labels = info.Labels ?? {}
    const reason = ownerGoneReason(labels, context)
    return { id: info.Id, name: info.Name, labels, ...(reason ? { orphanBecause: reason } : {}) }
  })
}

/** Removes a network; one still in use (by a container of a live orchestrator) is left, and reported. */
export async function removeManagedNetwork(docker: Docker, id: string): Promise<void> {
  await removeNetwork(docker, id, 3)
}

/**
 * A job holds its lock while it runs: any container or network of the job that this orchestrator did not make is a
 * leftover of an earlier attempt (a crash, a kill -9) and is removed before the job starts its own.
 */
export async function sweepJob(docker: Docker, jobId: string, owner: Owner): Promise<number> {
  const notMine = (item: { labels: Record<string, string> }) => item.labels[LABEL.owner] !== owner.id
  const leftovers = (await listManaged(docker, { jobId })).filter(notMine)
  await Promise.all(leftovers.map((container) => removeContainer(docker, container.id)))
  // After the containers: a network cannot go while one is attached.
  const networks = (await listManagedNetworks(docker, { jobId })).filter(notMine)
  await Promise.all(
    networks.map((network) => removeManagedNetwork(docker, network.id).catch(() => undefined)),
  )
  return leftovers.length + networks.length
}
