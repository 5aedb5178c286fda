// The docker backend's connection to the engine: the client, where the workspace is on the host, who owns the
// containers, and the job networks. Made at the first run; a failed attempt is retried by the next run rather than
// remembered.
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { containerNetwork } from "./bridge-address.ts"
import { createDockerClient, pingDocker } from "./docker-client.ts"
import { detectHostPaths, type HostPaths } from "./host-paths.ts"
import { EgressRegistry } from "./job-egress.ts"
import { currentOwner, LABEL, type Owner, ownerLabels } from "./labels.ts"

export interface Engine {
  docker: Docker
  paths: HostPaths
  owner: Owner
  egress: EgressRegistry
}

export interface EngineOptions {
  /** default: from DOCKER_HOST or the default socket */
  docker?: Docker
  /** the image the job networks' relays run */
  defaultImage: string
  /** extra labels on every network */
  labels?: Readonly<Record<string, string>>
  /** resolves once the containers being removed are gone (a job's network outlives its containers) */
  settled: () => Promise<void>
}

export interface EngineConnector {
  /** connects on first use */
  connect(): Promise<Engine>
  /** the connection if one was made (undefined if none was, or it failed), never starting one */
  current(): Promise<Engine | undefined>
}

async function connectEngine(options: EngineOptions): Promise<Engine> {
  const docker = options.docker ?? (await createDockerClient())
  await pingDocker(docker)
  const paths = await detectHostPaths(docker)
  const owner = currentOwner(paths.container)
  const egress = new EgressRegistry({
    docker,
    image: options.defaultImage,
    labels: { [LABEL.managed]: RUNTIME_VERSION, ...ownerLabels(owner), ...options.labels },
    homeNetwork: async () =>
      paths.container ? ((await containerNetwork(docker, paths.container)) ?? "bridge") : "bridge",
    settled: options.settled,
  })
  return { docker, paths, owner, egress }
}

export function engineConnector(options: EngineOptions): EngineConnector {
  let ready: Promise<Engine> | undefined
  return {
    connect() {
      ready ??= connectEngine(options)
      ready.catch(() => {
        ready = undefined
      })
      return ready
    },
    async current() {
      return ready?.catch(() => undefined)
    },
  }
}
