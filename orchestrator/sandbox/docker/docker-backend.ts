// The `docker` backend: each run in a container of its own, hardened, labelled, fed to the same event intake.
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { effectiveBaseUrl } from "../container/llm-endpoint.ts"
import { DEFAULT_LIMITS, type ResourceLimits } from "../container/resource-limits.ts"
import { DEFAULT_SANDBOX_IMAGE } from "../container/sandbox-image.ts"
import type { Sandbox, SandboxBackend, SandboxPrewarmOptions, SandboxStartOptions } from "../sandbox.ts"
import { bridgeAddress, containerAddress } from "./bridge-address.ts"
import { startColdSandbox } from "./cold-start.ts"
import { networkNeedsGateway, networkNone } from "./docker-errors.ts"
import { type Engine, engineConnector } from "./engine-connection.ts"
import { imageChecks } from "./image-check.ts"
import type { JobEgress } from "./job-egress.ts"
import { LABEL, type Owner, ownerLabels } from "./labels.ts"
import { sweepJob } from "./orphans.ts"
import { poolable, splitEnv, warmPoolSetting } from "./pool-policy.ts"
import { containerRunSpec, planRun } from "./run-plan.ts"
import { WarmPool, type WarmShape } from "./warm-pool.ts"

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
   * containers started ahead of their runs, at most, across the backend's jobs (default PERSTACK_DOCKER_WARM_POOL,
   * else 4; 0 turns the pool off). Filled on demand: by the job's prewarm, and one in place of each one claimed.
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
  const network = networkSetting({ settings, services })
  if (network === "none") throw networkNone(spec.expert.key, effectiveBaseUrl(spec, env))
  if (network === "gateway" && !services) throw networkNeedsGateway(spec.expert.key)
  return network
}

function networkSetting({ settings, services }: Pick<SandboxStartOptions, "settings" | "services">) {
  return settings?.network ?? (services ? "gateway" : "open")
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

/** Prewarms under way, per job: a job's release waits for its own (they are milliseconds but for the first). */
function jobTasks(): {
  track(jobId: string, task: Promise<void>): Promise<void>
  settled(jobId: string): Promise<void>
} {
  const tasks = new Map<string, Set<Promise<void>>>()
  return {
    async track(jobId, task) {
      const set = tasks.get(jobId) ?? new Set()
      tasks.set(jobId, set)
      const quiet = task.catch(() => undefined)
      set.add(quiet)
      try {
        await task
      } finally {
        set.delete(quiet)
        if (set.size === 0) tasks.delete(jobId)
      }
    },
    settled: async (jobId) => {
      await Promise.all(tasks.get(jobId) ?? [])
    },
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
  const poolSize = options.warmPool ?? warmPoolSetting()
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
  const prewarms = jobTasks()

  /** The job's locked-down network, when the run goes through it; its relay runs the default image. */
  const lockDown = async (
    { jobId, services }: { jobId: string; services?: SandboxStartOptions["services"] },
    network: "gateway" | "open",
    { docker, egress }: Engine,
  ) => {
    if (network !== "gateway" || !services) return undefined
    await ensureImage(docker, defaultImage)
    return egress.forJob(jobId, services)
  }

  /** Connected, the image there, the job's leftovers swept: what a run's start and a prewarm both need first. */
  const ready = async (jobId: string, image: string) => {
    const connected = await engine.connect()
    await ensureImage(connected.docker, image)
    await sweepOnce(connected.docker, jobId, connected.owner)
    return connected
  }

  /** Puts `count` containers of the shape of `start`'s runs in the pool (their start goes on in the background). */
  const prewarmShape = async (start: SandboxPrewarmOptions, network: "gateway" | "open", count: number) => {
    const image = start.settings?.image ?? defaultImage
    const connected = await ready(start.jobId, image)
    const locked = await lockDown(start, network, connected)
    const { docker, paths, owner } = connected
    const labels = { jobId: start.jobId, runId: "" }
    const plan = await planRun({ ...start, labels }, { image, paths, locked, userOverride, defaults })
    pool ??= new WarmPool({ docker, capacity: poolSize })
    pool.fill(start.jobId, { plan, labels: jobLabels(start.jobId, owner, options.labels) }, count)
  }

  /** The run in a container started ahead of it when one of its shape waits, else in a container made for it. */
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
    if (poolSize > 0 && poolable(start)) {
      pool ??= new WarmPool({ docker, capacity: poolSize })
      const { shape, runEnv } = splitEnv(plan, start.perRunEnv ?? [])
      const warmShape: WarmShape = { plan: shape, labels: common }
      const run = { spec, runEnv: { ...runEnv, PERSTACK_RUN_ID: runId }, ...hooks }
      const claimed = await pool.claim(labels.jobId, warmShape, run)
      if (claimed) {
        // One taken, one started in its place: the job's next run of this shape (a sibling delegate, the parent's
        // resume) finds one that has had this run's time to start, not one started a moment before it is claimed.
        pool.fill(labels.jobId, warmShape, pool.waiting(labels.jobId, warmShape) + 1)
        return claimed
      }
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
      const connected = await ready(start.labels.jobId, start.settings?.image ?? defaultImage)
      const locked = await lockDown(
        { jobId: start.labels.jobId, services: start.services },
        network,
        connected,
      )
      return startRun(start, connected, locked)
    },
    /**
     * Starts containers for runs of this shape ahead of them: on the job's own locked-down network when its runs
     * would be (the same network, relay, mounts, user and limits as a cold start: exactly as isolated), their
     * environment without the run's own variables. A shape the pool cannot serve is left to start cold.
     */
    async prewarm(start: SandboxPrewarmOptions, count: number) {
      const network = networkSetting(start)
      if (
        poolSize === 0 ||
        !poolable(start) ||
        network === "none" ||
        (network === "gateway" && !start.services)
      )
        return
      await prewarms.track(start.jobId, prewarmShape(start, network, count))
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
    /** Removes the job's idle warm containers, then its network and relay once its containers are gone. */
    async releaseJob(jobId: string) {
      // A prewarm still on its way would put containers (and the job's network) back after they were removed.
      await prewarms.settled(jobId)
      await pool?.release(jobId)
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
