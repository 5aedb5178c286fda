// Where the orchestrator's services (the LLM gateway) listen for its containers and for nothing else: on a host,
// its address on Docker's default bridge (which containers reach as their gateway); in a container of its own (the
// perstack/perstack image with the socket mounted), that container's address, which its sibling containers reach.
import type Docker from "dockerode"

interface BridgeNetwork {
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] | null }
}

/** The first host address of an IPv4 subnet ("172.17.0.0/16" -> "172.17.0.1"): the bridge's own, by convention. */
export function firstHost(subnet: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet)
  if (!match) return undefined
  const [a, b, c, d, bits] = match.slice(1).map(Number) as [number, number, number, number, number]
  if (bits > 30) return undefined
  const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  const host = ((address & mask) >>> 0) + 1
  return [host >>> 24, (host >>> 16) & 255, (host >>> 8) & 255, host & 255].join(".")
}

/**
 * Read from the engine, not from the host's interfaces: docker0 is down while no container is attached, and Node
 * lists only interfaces that are up. Undefined when the engine does not say (the caller falls back to loopback).
 */
export async function bridgeAddress(docker: Docker): Promise<string | undefined> {
  const network = (await docker.getNetwork("bridge").inspect()) as BridgeNetwork
  for (const config of network.IPAM?.Config ?? []) {
    if (config.Gateway && !config.Gateway.includes(":")) return config.Gateway
    const first = config.Subnet ? firstHost(config.Subnet) : undefined
    if (first) return first
  }
  return undefined
}

interface InspectedContainer {
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null }
}

/** The orchestrator's own container's address: on the default bridge if it is there, else its first network. */
export async function containerAddress(docker: Docker, id: string): Promise<string | undefined> {
  const inspected = (await docker.getContainer(id).inspect()) as InspectedContainer
  const networks = inspected.NetworkSettings?.Networks ?? {}
  const addresses = [networks.bridge, ...Object.values(networks)].map((network) => network?.IPAddress)
  return addresses.find((address) => address !== undefined && address !== "")
}

/** The network of the orchestrator's own container that containerAddress() picks: where its services are reached. */
export async function containerNetwork(docker: Docker, id: string): Promise<string | undefined> {
  const inspected = (await docker.getContainer(id).inspect()) as InspectedContainer
  const networks = inspected.NetworkSettings?.Networks ?? {}
  if (networks.bridge?.IPAddress) return "bridge"
  return Object.entries(networks).find(([, network]) => network?.IPAddress)?.[0]
}
