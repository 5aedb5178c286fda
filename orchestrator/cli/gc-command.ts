// `perstack gc`: removes the sandbox containers, and the jobs' locked-down networks, whose orchestrator is gone
// (found by their labels).
import type Docker from "dockerode"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { createDockerClient, pingDocker } from "../sandbox/docker/docker-client.ts"
import { LABEL } from "../sandbox/docker/labels.ts"
import {
  listManaged,
  listManagedNetworks,
  removeContainer,
  removeManagedNetwork,
} from "../sandbox/docker/orphans.ts"
import type { CommandIo } from "./validate.ts"

export interface GcOptions {
  /** also containers whose orchestrator may still be running (any Perstack container) */
  all?: boolean
  /** only this job's containers */
  job?: string
  /** list what would be removed, remove nothing */
  dryRun?: boolean
}

/** Returns the exit code: 0, or 1 with a message on stderr when the Docker engine cannot be reached. */
export async function gcCommand(options: GcOptions, io: CommandIo & { docker?: Docker }): Promise<number> {
  try {
    const docker = io.docker ?? (await createDockerClient())
    await pingDocker(docker)
    const containers = await listManaged(docker, options.job ? { jobId: options.job } : {})
    const doomed = containers.filter((container) => options.all || container.orphanBecause)
    const kept = containers.length - doomed.length
    for (const container of doomed) {
      if (!options.dryRun) await removeContainer(docker, container.id)
      const job = container.labels[LABEL.job] ?? "?"
      const run =
        container.labels[LABEL.run] ??
        (container.labels[LABEL.pool]
          ? "(warm pool)"
          : container.labels[LABEL.egress]
            ? "(egress relay)"
            : "?")
      const why = container.orphanBecause ?? "--all"
      io.stdout(
        `${options.dryRun ? "would remove" : "removed"} ${container.name} (${container.id.slice(0, 12)}, ${container.state}) job ${job} run ${run}: ${why}\n`,
      )
    }
    const verb = options.dryRun ? "would be removed" : "removed"
    io.stderr(
      `perstack gc: ${doomed.length} container${doomed.length === 1 ? "" : "s"} ${verb}` +
        (kept > 0
          ? `; ${kept} left to orchestrators that are still running (--all removes them too)\n`
          : "\n"),
    )
    // After the containers: a network cannot go while one is attached.
    const networks = await listManagedNetworks(docker, options.job ? { jobId: options.job } : {})
    const doomedNetworks = networks.filter((network) => options.all || network.orphanBecause)
    let failed = 0
    for (const network of doomedNetworks) {
      const why = network.orphanBecause ?? "--all"
      const job = network.labels[LABEL.job] ?? "?"
      if (!options.dryRun) {
        const error = await removeManagedNetwork(docker, network.id).catch((cause: Error) => cause)
        if (error) {
          failed++
          io.stderr(`perstack gc: could not remove network ${network.name}: ${error.message}\n`)
          continue
        }
      }
      io.stdout(`${options.dryRun ? "would remove" : "removed"} network ${network.name} job ${job}: ${why}\n`)
    }
    if (networks.length > 0) {
      const removed = doomedNetworks.length - failed
      const keptNetworks = networks.length - doomedNetworks.length
      io.stderr(
        `perstack gc: ${removed} network${removed === 1 ? "" : "s"} ${verb}` +
          (keptNetworks > 0 ? `; ${keptNetworks} left to orchestrators that are still running\n` : "\n"),
      )
    }
    return 0
  } catch (error) {
    if (!(error instanceof PerstackError)) throw error
    io.stderr(`perstack gc: ${error.message}\n`)
    return 1
  }
}
