// The `docker` backend: each run in a container of its own, hardened, labelled, fed to the same event intake.
import { existsSync } from "node:fs"
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { effectiveBaseUrl } from "../container/llm-endpoint.ts"
import { DEFAULT_LIMITS, type ResourceLimits, resolveLimits } from "../container/resource-limits.ts"
import { DEFAULT_SANDBOX_IMAGE } from "../container/sandbox-image.ts"
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "../sandbox.ts"
import { bridgeAddress, containerAddress, containerNetwork } from "./bridge-address.ts"
import { type ContainerPlan, containerCreateOptions, IN_CONTAINER } from "./container-config.ts"
import { startContainerSandbox } from "./container-sandbox.ts"
import { createDockerClient, pingDocker } from "./docker-client.ts"
import { networkNeedsGateway, networkNone } from "./docker-errors.ts"
import { detectHostPaths, type HostPaths } from "./host-paths.ts"
import { checkImage } from "./image-check.ts"
import { EgressRegistry, type JobEgress, lockedDownEnv, throughRelay } from "./job-egress.ts"
import { currentOwner, LABEL, type Owner, ownerLabels } from "./labels.ts"
import { containerLlmBaseUrl } from "./llm-endpoint.ts"
import { sweepJob } from "./orphans.ts"
import { createRunSpecDir } from "./run-spec-dir.ts"
import { sandboxUser } from "./sandbox-user.ts"
import { type PoolClaim, WarmPool } from "./warm-pool.ts"

export interface DockerBackendOptions {
  docker?: Docker
  /** default PERSTACK_SANDBOX_IMAGE, else perstack/sandbox:<version>; an Expert's `sandbox.image` wins */
  image?: string
  /** "uid:gid" (default PERSTACK_DOCKER_USER, else the workspace's owner) */
  user?: string
  /** limits for Experts that set none (default 2 CPUs, 2 GiB, 512 processes) */
  limits?: Partial<ResourceLimits>
  /** extra labels on every container and network (tests label their session) */
  labels?: Readonly<Record<string, string>>
  /**
   * idle containers kept ready per (image, workspace, user, limits, network); 0 turns the pool off (default). Runs
   * through the LLM gateway start cold: their token exists only once their run does.
   */
  warmPool?: number
  /** each chunk of a sandbox's stderr, for --verbose */
  onStderr?: (runId: string, chunk: Buffer) => void
}

interface Ready {
  docker: Docker
  paths: HostPaths
  owner: Owner
  egress: EgressRegistry
}

/**
 * What a sandbox's network is: "gateway" (the default when the LLM gateway is on) locks it down to the job's
 * services; "open" is Docker's default bridge (the default without the gateway, which has nothing to lock down
 * to); "none" cannot reach the LLM at all and is refused, as is "gateway" without a gateway.
 */
function networkOf({ spec, env, settings, services }: SandboxStartOptions): "gateway" | "open" {
  const network = settings?.network ?? (services ? "gateway" : "open")
  if (network === "none") throw networkNone(spec.expert.key, effectiveBaseUrl(spec, env))
  if (network === "gateway" && !services) throw networkNeedsGateway(spec.expert.key)
  return network
}

export function createDockerBackend(options: DockerBackendOptions = {}): SandboxBackend & AsyncDisposable {
  const env = process.env
  const defaultImage = options.image ?? (env.PERSTACK_SANDBOX_IMAGE || DEFAULT_SANDBOX_IMAGE)
  const userOverride = options.user ?? env.PERSTACK_DOCKER_USER
  const defaults: ResourceLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const poolSize = options.warmPool ?? Number(env.PERSTACK_DOCKER_WARM_POOL ?? 0)
  let ready: Promise<Ready> | undefined
  const images = new Map<string, Promise<void>>()
  const swept = new Map<string, Promise<number>>()
  let pool: WarmPool | undefined
  // Containers being removed after their runs: dispose waits for them.
  const cleaning = new Set<Promise<void>>()
  const onCleanUp = (done: Promise<void>) => {
    cleaning.add(done)
    void done.finally(() => cleaning.delete(done))
  }

  const connect = () => {
    ready ??= (async () => {
      const docker = options.docker ?? (await createDockerClient())
      await pingDocker(docker)
      const paths = await detectHostPaths(docker)
      const owner = currentOwner(paths.container)
      const egress = new EgressRegistry({
        docker,
        image: defaultImage,
        labels: { [LABEL.managed]: RUNTIME_VERSION, ...ownerLabels(owner), ...options.labels },
        homeNetwork: async () =>
          paths.container ? ((await containerNetwork(docker, paths.container)) ?? "bridge") : "bridge",
        settled: () => Promise.all([...cleaning]).then(() => undefined),
      })
      return { docker, paths, owner, egress }
    })()
    // A failed connection is retried by the next run rather than remembered.
    ready.catch(() => {
      ready = undefined
    })
    return ready
  }

  return {
    name: "docker",
    async isolated() {
      return true
    },
    async start(startOptions: SandboxStartOptions): Promise<Sandbox> {
      const { spec, env: sandboxEnv, workspace, labels, settings, envIsPerRun, services } = startOptions
      // Before anything is started or asked of the engine.
      const network = networkOf(startOptions)
      const { docker, paths, owner, egress } = await connect()
      const image = settings?.image ?? defaultImage
      const ensureImage = (name: string) => {
        let checked = images.get(name)
        if (!checked) {
          checked = checkImage(docker, name)
          images.set(name, checked)
          checked.catch(() => images.delete(name))
        }
        return checked
      }
      await ensureImage(image)
      let sweep = swept.get(labels.jobId)
      if (!sweep) {
        sweep = sweepJob(docker, labels.jobId, owner)
        swept.set(labels.jobId, sweep)
      }
      await sweep
      let locked: JobEgress | undefined
      if (network === "gateway" && services) {
        // The relay runs the default image: it must be there even when this Expert has an image of its own.
        await ensureImage(defaultImage)
        locked = await egress.forJob(labels.jobId, services)
      }

      const llmBaseUrl = locked
        ? spec.llmBaseUrl && throughRelay(spec.llmBaseUrl, locked)
        : containerLlmBaseUrl(spec, sandboxEnv)
      const containerSpec = {
        ...spec,
        workspace: IN_CONTAINER.workspace,
        ...(llmBaseUrl ? { llmBaseUrl } : {}),
      }
      const hostCa = sandboxEnv.NODE_EXTRA_CA_CERTS
      const plan: Omit<ContainerPlan, "name" | "hostSpecDir" | "labels"> = {
        image,
        user: await sandboxUser(workspace, userOverride),
        env: {
          ...(locked && services ? lockedDownEnv(sandboxEnv, services, locked) : sandboxEnv),
          PERSTACK_JOB_ID: labels.jobId,
        },
        hostWorkspace: paths.toHost(workspace),
        ...(hostCa && existsSync(hostCa) ? { hostCaBundle: paths.toHost(hostCa) } : {}),
        limits: resolveLimits(settings, defaults),
        network: locked ? locked.network : "bridge",
        ...(startOptions.protectedPaths ? { protectedPaths: startOptions.protectedPaths } : {}),
      }
      const onStderr = options.onStderr
        ? (chunk: Buffer) => options.onStderr?.(labels.runId, chunk)
        : undefined
      const common = {
        [LABEL.managed]: RUNTIME_VERSION,
        [LABEL.job]: labels.jobId,
        ...ownerLabels(owner),
        ...options.labels,
      }

      if (poolSize > 0 && !envIsPerRun && !locked) {
        pool ??= new WarmPool({ docker, size: poolSize })
        const claim: PoolClaim = {
          plan,
          labels: common,
          spec: containerSpec,
          ...(settings?.timeout !== undefined ? { timeoutMs: settings.timeout } : {}),
          ...(onStderr ? { onStderr } : {}),
          onCleanUp,
        }
        return pool.claim(claim)
      }

      const name = `perstack-${labels.runId}`
      const specDir = await createRunSpecDir(workspace, name)
      try {
        await specDir.write(containerSpec)
        const container = await docker.createContainer(
          containerCreateOptions({
            ...plan,
            env: { ...plan.env, PERSTACK_RUN_ID: labels.runId },
            name,
            hostSpecDir: paths.toHost(specDir.dir),
            labels: {
              ...common,
              [LABEL.run]: labels.runId,
              ...(labels.parentRunId ? { [LABEL.parentRun]: labels.parentRunId } : {}),
              [LABEL.expert]: spec.expert.key,
            },
          }),
        )
        return await startContainerSandbox({
          container,
          image,
          specDir,
          ...(settings?.timeout !== undefined ? { timeoutMs: settings.timeout } : {}),
          ...(onStderr ? { onStderr } : {}),
          onCleanUp,
        })
      } catch (error) {
        await specDir.remove()
        throw error
      }
    },
    /** See bridge-address.ts; undefined when the engine cannot be asked (the run's own start reports why). */
    async hostAddress() {
      try {
        const { docker, paths } = await connect()
        return paths.container ? await containerAddress(docker, paths.container) : await bridgeAddress(docker)
      } catch {
        return undefined
      }
    },
    /** Removes the job's locked-down network and its relay, once the job's containers are gone. */
    async releaseJob(jobId: string) {
      const connected = await ready?.catch(() => undefined)
      await connected?.egress.release(jobId)
    },
    /** Removes the warm pool's idle containers, waits for the used ones being removed, and frees every network. */
    async [Symbol.asyncDispose]() {
      await pool?.[Symbol.asyncDispose]()
      await Promise.all([...cleaning])
      const connected = await ready?.catch(() => undefined)
      await connected?.egress.releaseAll()
    },
  }
}
