// The `docker` backend: each run in a container of its own, hardened, labelled, fed to the same event intake.
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { effectiveBaseUrl } from "../container/llm-endpoint.ts"
import { DEFAULT_LIMITS, type ResourceLimits } from "../container/resource-limits.ts"
import { DEFAULT_SANDBOX_IMAGE } from "../container/sandbox-image.ts"
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "../sandbox.ts"
import { bridgeAddress, containerAddress } from "./bridge-address.ts"
import { startColdSandbox } from "./cold-start.ts"
import { networkNeedsGateway, networkNone } from "./docker-errors.ts"
import { type Engine, engineConnector } from "./engine-connection.ts"
import { imageChecks } from "./image-check.ts"
import type { JobEgress } from "./job-egress.ts"
import { LABEL, type Owner, ownerLabels } from "./labels.ts"
import { sweepJob } from "./orphans.ts"
import { containerRunSpec, planRun } from "./run-plan.ts"
import { WarmPool } from "./warm-pool.ts"

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

/** Removes a job's leftovers (containers of an earlier, crashed orchestrator) once, before its first run. */
function jobSweeps(): (docker: Docker, jobId: string, owner: Owner) => Promise<number> {
  const swept = new Map<string, Promise<number>>()
  return (docker, jobId, owner) => {
    let sweep = swept.get(jobId)
    if (!sweep) {
      sweep = sweepJob(docker, jobId, owner)
      swept.set(jobId, sweep)
    }
    return sweep
  }
}

/** Containers being removed after their runs: dispose (and a job network's release) waits for them. */
function cleanUps(): { add(done: Promise<void>): void; settled(): Promise<void> } {
  const cleaning = new Set<Promise<void>>()
  return {
    add(done) {
      cleaning.add(done)
      void done.finally(() => cleaning.delete(done))
    },
    settled: () => Promise.all([...cleaning]).then(() => undefined),
  }
}

/** The labels every container of the job carries: managed by this version, the job, the owner, the extras. */
function jobLabels(
  jobId: string,
  owner: Owner,
  extra: DockerBackendOptions["labels"],
): Record<string, string> {
  return { [LABEL.managed]: RUNTIME_VERSION, [LABEL.job]: jobId, ...ownerLabels(owner), ...extra }
}

export function createDockerBackend(options: DockerBackendOptions = {}): SandboxBackend & AsyncDisposable {
  const env = process.env
  const defaultImage = options.image ?? (env.PERSTACK_SANDBOX_IMAGE || DEFAULT_SANDBOX_IMAGE)
  const userOverride = options.user ?? env.PERSTACK_DOCKER_USER
  const defaults: ResourceLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const poolSize = options.warmPool ?? Number(env.PERSTACK_DOCKER_WARM_POOL ?? 0)
  const cleaning = cleanUps()
  const engine = engineConnector({
    ...(options.docker ? { docker: options.docker } : {}),
    defaultImage,
    ...(options.labels ? { labels: options.labels } : {}),
    settled: cleaning.settled,
  })
  const ensureImage = imageChecks()
  const sweepOnce = jobSweeps()
  let pool: WarmPool | undefined

  /** The job's locked-down network, when the run goes through it; its relay runs the default image. */
  const lockDown = async (
    start: SandboxStartOptions,
    network: "gateway" | "open",
    { docker, egress }: Engine,
  ) => {
    if (network !== "gateway" || !start.services) return undefined
    await ensureImage(docker, defaultImage)
    return egress.forJob(start.labels.jobId, start.services)
  }

  /** The run in a container of the warm pool when it can be, else in a container made for it. */
  const startRun = async (start: SandboxStartOptions, connected: Engine, locked: JobEgress | undefined) => {
    const { labels, settings } = start
    const { docker, paths, owner } = connected
    const image = settings?.image ?? defaultImage
    const spec = containerRunSpec(start, locked)
    const plan = await planRun(start, { image, paths, locked, userOverride, defaults })
    const runId = labels.runId
    const onStderr = options.onStderr ? (chunk: Buffer) => options.onStderr?.(runId, chunk) : undefined
    const common = jobLabels(labels.jobId, owner, options.labels)
    const timeout = settings?.timeout !== undefined ? { timeoutMs: settings.timeout } : {}
    const hooks = { ...timeout, ...(onStderr ? { onStderr } : {}), onCleanUp: cleaning.add }
    if (poolSize > 0 && !start.envIsPerRun && !locked) {
      pool ??= new WarmPool({ docker, size: poolSize })
      return pool.claim({ plan, labels: common, spec, ...hooks })
    }
    const cold = { docker, paths, plan, spec, labels, jobLabels: common, workspace: start.workspace }
    return startColdSandbox({ ...cold, ...hooks })
  }

  return {
    name: "docker",
    async isolated() {
      return true
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      // Before anything is started or asked of the engine.
      const network = networkOf(start)
      const connected = await engine.connect()
      await ensureImage(connected.docker, start.settings?.image ?? defaultImage)
      await sweepOnce(connected.docker, start.labels.jobId, connected.owner)
      return startRun(start, connected, await lockDown(start, network, connected))
    },
    /** See bridge-address.ts; undefined when the engine cannot be asked (the run's own start reports why). */
    async hostAddress() {
      try {
        const { docker, paths } = await engine.connect()
        return paths.container ? await containerAddress(docker, paths.container) : await bridgeAddress(docker)
      } catch {
        return undefined
      }
    },
    /** Removes the job's locked-down network and its relay, once the job's containers are gone. */
    async releaseJob(jobId: string) {
      await (await engine.current())?.egress.release(jobId)
    },
    /** Removes the warm pool's idle containers, waits for the used ones being removed, and frees every network. */
    async [Symbol.asyncDispose]() {
      await pool?.[Symbol.asyncDispose]()
      await cleaning.settled()
      await (await engine.current())?.egress.releaseAll()
    },
  }
}
