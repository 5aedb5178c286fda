// A job's locked-down network: an internal bridge (Docker routes nothing off it) on which the host has no address
// either (inhibit_ipv4). Measured on Docker 20.10: on a plain internal network a container still has a default
// route to the bridge's gateway, which is the host, so it reaches every address of the host (the bridge's, the
// default bridge's 172.17.0.1, eth0's) and every service listening there on 0.0.0.0 (the host's INPUT chain
// accepts it). Docker 25+ drops that route but still gives the host the bridge's address. Without any host
// address on the bridge, a sandbox reaches its peers and the job's relay, and nothing else; the containers get no
// IPv6, and the embedded DNS resolves no outside name on an internal network.
import type Docker from "dockerode"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

export interface EgressNetwork {
  id: string
  name: string
  /** its IPv4 subnet, e.g. "172.19.0.0/16" (the relay listens on its own address in it) */
  subnet: string
}

interface InspectedNetwork {
  IPAM?: { Config?: { Subnet?: string }[] | null }
  Options?: Record<string, string> | null
}

const INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"

export async function createEgressNetwork(
  docker: Docker,
  options: { name: string; labels: Readonly<Record<string, string>> },
): Promise<EgressNetwork> {
  let network: Docker.Network
  try {
    network = await docker.createNetwork({
      Name: options.name,
      Driver: "bridge",
      Internal: true,
      CheckDuplicate: true,
      EnableIPv6: false,
      Labels: { ...options.labels },
      Options: { [INHIBIT_IPV4]: "true" },
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/address pool|non-overlapping/i.test(message)) {
      throw new PerstackError(
        "docker.networkPoolExhausted",
        `the Docker engine has no address range left for this job's locked-down network (${message}): remove unused networks (\`docker network prune\`, \`perstack gc\`), or give the engine more (default-address-pools in daemon.json)`,
        { cause: error },
      )
    }
    throw error
  }
  const inspected = (await network.inspect()) as InspectedNetwork
  const subnet = inspected.IPAM?.Config?.map((config) => config.Subnet).find(
    (candidate) => candidate !== undefined && !candidate.includes(":"),
  )
  // An engine that dropped the option would leave the host reachable: better no run than a leaky one.
  const problem = !subnet
    ? "has no IPv4 subnet"
    : inspected.Options?.[INHIBIT_IPV4] !== "true"
      ? `does not keep ${INHIBIT_IPV4}, so the host would have an address on it`
      : undefined
  if (!subnet || problem) {
    await removeNetwork(docker, network.id)
    throw new PerstackError(
      "docker.networkUnusable",
      `the locked-down network ${options.name} ${problem}: this Docker engine cannot isolate a sandbox; use [experts."<key>".sandbox] network = "open" to run without the lockdown`,
    )
  }
  return { id: network.id, name: options.name, subnet }
}

/**
 * Removes a network once nothing is attached to it. Containers just removed may still hold their endpoint for a
 * moment, so "in use" is retried for a few seconds; gone already is fine.
 */
export async function removeNetwork(docker: Docker, id: string, attempts = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await docker.getNetwork(id).remove()
      return
    } catch (error) {
      const { statusCode } = error as { statusCode?: number }
      if (statusCode === 404) return
      if (attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}
