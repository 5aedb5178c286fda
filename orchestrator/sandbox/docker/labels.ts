// The labels on every container and network the docker backend creates: what it runs (job, run, parent run)
// and who owns it.
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"

export const LABEL = {
  /** present on every container Perstack starts; the value is the product version */
  managed: "ai.perstack.managed",
  job: "ai.perstack.job",
  run: "ai.perstack.run",
  parentRun: "ai.perstack.parent-run",
  expert: "ai.perstack.expert",
  /** an idle warm-pool container (no run yet): the pool's key */
  pool: "ai.perstack.pool",
  /** a job's egress relay container, and the job's locked-down network: the network's name */
  egress: "ai.perstack.egress",
  /** the orchestrator process that owns it: a random id per process, and where to check that it still lives */
  owner: "ai.perstack.owner",
  ownerHost: "ai.perstack.owner.host",
  ownerPid: "ai.perstack.owner.pid",
  /** the orchestrator's own container, when it runs in one (the perstack/perstack image with the socket mounted) */
  ownerContainer: "ai.perstack.owner.container",
} as const

export interface Owner {
  id: string
  host: string
  pid: number
  container?: string
}

/** One id per process: every docker backend of this process owns its containers under it. */
const PROCESS_OWNER_ID = randomUUID()

/** This process, as an owner of containers. */
export function currentOwner(container?: string): Owner {
  return { id: PROCESS_OWNER_ID, host: hostname(), pid: process.pid, ...(container ? { container } : {}) }
}

export function ownerLabels(owner: Owner): Record<string, string> {
  return {
    [LABEL.owner]: owner.id,
    [LABEL.ownerHost]: owner.host,
    [LABEL.ownerPid]: String(owner.pid),
    ...(owner.container ? { [LABEL.ownerContainer]: owner.container } : {}),
  }
}

/** A Docker `filters` value selecting containers by label, e.g. `{ [LABEL.job]: "j1" }`. */
export function labelFilter(labels: Record<string, string | true>): { label: string[] } {
  return {
    label: Object.entries(labels).map(([key, value]) => (value === true ? key : `${key}=${value}`)),
  }
}
