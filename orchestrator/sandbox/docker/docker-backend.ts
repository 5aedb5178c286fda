// The `docker` backend: each run in a container of its own, hardened, labelled, fed to the same event intake.
import { existsSync } from "node:fs"
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "../sandbox.ts"
import { bridgeAddress, containerAddress } from "./bridge-address.ts"
import { type ContainerPlan, containerCreateOptions, IN_CONTAINER } from "./container-config.ts"
import { startContainerSandbox } from "./container-sandbox.ts"
import { createDockerClient, pingDocker } from "./docker-client.ts"
import { networkNone } from "./docker-errors.ts"
import { detectHostPaths, type HostPaths } from "./host-paths.ts"
import { currentOwner, LABEL, type Owner, ownerLabels } from "./labels.ts"
import { containerLlmBaseUrl, effectiveBaseUrl } from "./llm-endpoint.ts"
import { sweepJob } from "./orphans.ts"
import { DEFAULT_LIMITS, type ResourceLimits, resolveLimits } from "./resource-limits.ts"
import { createRunSpecDir } from "./run-spec-dir.ts"
import { checkImage, DEFAULT_SANDBOX_IMAGE } from "./sandbox-image.ts"
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
  /** extra labels on every container (tests label their session) */
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
      return { docker, paths, owner: currentOwner(paths.container) }
    })()
    // A failed connection is retried by the next run rather than remembered.
    ready.catch(() => {
      ready = undefined
    })
    return ready
  }

  return {
    name: "docker",
    async start({
      spec,
      env: sandboxEnv,
      workspace,
      labels,
      settings,
      envIsPerRun,
    }: SandboxStartOptions): Promise<Sandbox> {
      if (settings?.network === "none") throw networkNone(spec.expert.key, effectiveBaseUrl(spec, sandboxEnv))
      const { docker, paths, owner } = await connect()
      const image = settings?.image ?? defaultImage
      let checked = images.get(image)
      if (!checked) {
        checked = checkImage(docker, image)
        images.set(image, checked)
        checked.catch(() => images.delete(image))
      }
      await checked
      let sweep = swept.get(labels.jobId)
      if (!sweep) {
        sweep = sweepJob(docker, labels.jobId, owner)
        swept.set(labels.jobId, sweep)
      }
      await sweep

      const llmBaseUrl = containerLlmBaseUrl(spec, sandboxEnv)
      const containerSpec = {
        ...spec,
        workspace: IN_CONTAINER.workspace,
        ...(llmBaseUrl ? { llmBaseUrl } : {}),
      }
      const hostCa = sandboxEnv.NODE_EXTRA_CA_CERTS
      const plan: Omit<ContainerPlan, "name" | "hostSpecDir" | "labels"> = {
        image,
        user: await sandboxUser(workspace, userOverride),
        env: { ...sandboxEnv, PERSTACK_JOB_ID: labels.jobId },
        hostWorkspace: paths.toHost(workspace),
        ...(hostCa && existsSync(hostCa) ? { hostCaBundle: paths.toHost(hostCa) } : {}),
        limits: resolveLimits(settings, defaults),
        network: "bridge",
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

      if (poolSize > 0 && !envIsPerRun) {
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
    /** Removes the warm pool's idle containers, and waits for the used ones being removed. */
    async [Symbol.asyncDispose]() {
      await pool?.[Symbol.asyncDispose]()
      await Promise.all([...cleaning])
    },
  }
}
