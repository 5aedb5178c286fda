// The docker backend's locked-down networks, one per job: made at the job's first sandbox with network =
// "gateway", with the relay to the job's services (its LLM gateway, its egress proxy); removed when the job
// releases them, else by the job's next sweep or `perstack gc` (they carry the same labels as its containers).
import { randomBytes } from "node:crypto"
import type Docker from "dockerode"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { isLoopbackHost } from "../container/llm-endpoint.ts"
import type { SandboxServices } from "../sandbox.ts"
import { createEgressNetwork, removeNetwork } from "./egress-network.ts"
import { type RelayTarget, startRelay } from "./egress-relay.ts"
import { LABEL } from "./labels.ts"
import { HOST_ALIAS } from "./llm-endpoint.ts"

export interface JobEgress {
  /** the network's name: the sandbox's NetworkMode */
  readonly network: string
  /** the relay's address on it: where the sandbox reaches the services */
  readonly relayAddress: string
}

interface Held extends JobEgress {
  remove(): Promise<void>
}

export interface EgressRegistryOptions {
  docker: Docker
  /** the relay's image (the default sandbox image: it has Node) */
  image: string
  /** on the network and the relay: managed, owner and the backend's extra labels */
  labels: Readonly<Record<string, string>>
  /** where the orchestrator's services are reachable from a container ("bridge", or its own container's network) */
  homeNetwork(): Promise<string>
  /** resolves when the containers being removed are gone (a network with a container on it cannot be removed) */
  settled(): Promise<void>
}

/** "host:port" of a service URL, as the relay is told to reach it (loopback is the host, from a container). */
function serviceTarget(url: string): { key: string; target: RelayTarget } {
  const parsed = new URL(url)
  const port = Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80))
  const host = isLoopbackHost(parsed.hostname) ? HOST_ALIAS : parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  return { key: `${parsed.hostname}:${port}`, target: { port, host, targetPort: port } }
}

/** A name Docker accepts, recognisably the job's: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
function nameOf(jobId: string): string {
  const safe = jobId.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 40)
  return `${safe}-${randomBytes(3).toString("hex")}`
}

export class EgressRegistry {
  private readonly jobs = new Map<string, { targets: string; egress: Promise<Held> }>()
  private readonly options: EgressRegistryOptions

  constructor(options: EgressRegistryOptions) {
    this.options = options
  }

  /** The job's network and relay, made on first use; every run of a job must bring the same services. */
  forJob(jobId: string, services: SandboxServices): Promise<JobEgress> {
    const targets = [services.gateway, ...(services.proxy ? [services.proxy] : [])].map(serviceTarget)
    const key = targets.map((target) => target.key).join(" ")
    const held = this.jobs.get(jobId)
    if (held) {
      if (held.targets !== key) {
        return Promise.reject(
          new PerstackError(
            "docker.egressChanged",
            `job ${jobId}'s locked-down network relays to ${held.targets}, not ${key}: one job has one gateway`,
          ),
        )
      }
      return held.egress
    }
    const egress = this.create(
      jobId,
      targets.map((target) => target.target),
    )
    this.jobs.set(jobId, { targets: key, egress })
    // A failure is the failing run's; the job's next run tries again.
    egress.catch(() => this.jobs.delete(jobId))
    return egress
  }

  /** Removes the job's relay and network, once its sandboxes are gone. Never throws: gc reaps what is left. */
  async release(jobId: string): Promise<void> {
    const held = this.jobs.get(jobId)
    if (!held) return
    this.jobs.delete(jobId)
    const egress = await held.egress.catch(() => undefined)
    await this.options.settled()
    await egress?.remove().catch(() => undefined)
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.jobs.keys()].map((jobId) => this.release(jobId)))
  }

  private async create(jobId: string, targets: RelayTarget[]): Promise<Held> {
    const { docker } = this.options
    const name = nameOf(jobId)
    const network = await createEgressNetwork(docker, {
      name: `perstack-egress-${name}`,
      labels: {
        ...this.options.labels,
        [LABEL.job]: jobId,
        [LABEL.egress]: `perstack-egress-${name}`,
      },
    })
    try {
      const relay = await startRelay(docker, {
        name: `perstack-relay-${name}`,
        image: this.options.image,
        labels: { ...this.options.labels, [LABEL.job]: jobId, [LABEL.egress]: network.name },
        homeNetwork: await this.options.homeNetwork(),
        lockedNetwork: network,
        targets,
      })
      return {
        network: network.name,
        relayAddress: relay.address,
        async remove() {
          await relay.container.remove({ force: true }).catch(() => undefined)
          await removeNetwork(docker, network.id)
        },
      }
    } catch (error) {
      await removeNetwork(docker, network.id).catch(() => undefined)
      throw error
    }
  }
}

const PROXY_VARIABLES = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "NODE_USE_ENV_PROXY",
]

/** `url` (a service on hostAddress()) as a sandbox on the job's network reaches it: through the relay. */
export function throughRelay(url: string, egress: JobEgress): string {
  const parsed = new URL(url)
  parsed.hostname = egress.relayAddress
  return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "")
}

/**
 * A locked-down sandbox's environment: the host's proxy settings mean nothing on the job's network and go; with
 * a proxy token, every usual proxy variable names the egress proxy (through the relay, with the run's token),
 * and the gateway is reached directly.
 */
export function lockedDownEnv(
  env: Readonly<Record<string, string>>,
  services: SandboxServices,
  egress: JobEgress,
): Record<string, string> {
  const out = Object.fromEntries(Object.entries(env).filter(([name]) => !PROXY_VARIABLES.includes(name)))
  if (services.proxy === undefined || services.proxyToken === undefined) return out
  const proxy = new URL(throughRelay(services.proxy, egress))
  proxy.username = "perstack"
  proxy.password = services.proxyToken
  const url = proxy.toString().replace(/\/$/, "")
  return {
    ...out,
    HTTPS_PROXY: url,
    https_proxy: url,
    // Plain http:// is refused by the proxy, with a reason: better than a connection that hangs.
    HTTP_PROXY: url,
    http_proxy: url,
    NO_PROXY: egress.relayAddress,
    no_proxy: egress.relayAddress,
    // Node's fetch and http (the runtime's remote skills, Node tools) use the variables only when asked to.
    NODE_USE_ENV_PROXY: "1",
  }
}
