// The `local` backend: each run is a child process of the runtime, in its own process group, cwd = workspace; under
// bubblewrap (when the machine allows it) in namespaces of its own, seeing the workspace and nothing else it could
// change.

import { existsSync } from "node:fs"
import path from "node:path"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/host/sandbox-process.ts"
import { packageRoot } from "../../package-root.ts"
import type {
  Sandbox,
  SandboxBackend,
  SandboxPrewarmOptions,
  SandboxServices,
  SandboxStartOptions,
} from "../sandbox.ts"
import { warmPoolSize } from "../warm-pool-size.ts"
import { bubblewrapArgs, bubblewrapStatus } from "./bubblewrap.ts"
import { isOwnRuntime, isolationPlan } from "./bubblewrap-plan.ts"
import { sandboxCompileCache } from "./compile-cache.ts"
import { localNetwork, lockedDownLocalEnv, relayTargets } from "./local-network.ts"
import { launch } from "./local-process.ts"
import { reapLocalSandbox } from "./reap.ts"
import { RELAY_DIR_IN_SANDBOX, startUnixRelays, type UnixRelays } from "./unix-relay.ts"
import { LocalWarmPool } from "./warm-pool.ts"

/** The bundled runtime when built (fast start), else the source (Node runs TypeScript directly). */
export function defaultRuntimeEntry(): string {
  const root = packageRoot()
  const bundled = path.join(root, "dist/runtime/perstack-runtime.js")
  return existsSync(bundled) ? bundled : path.join(root, "runtime/cli/bin.ts")
}

/** auto: isolate where bubblewrap works, else run as plain processes (and say so); required: refuse; off: never. */
export type LocalIsolation = "auto" | "required" | "off"

export interface LocalBackendOptions {
  /** the runtime program (default: PERSTACK_RUNTIME_ENTRY, else the bundle, else the source) */
  runtimeEntry?: string
  /** the Node binary (default: the one running the orchestrator) */
  nodePath?: string
  /** each chunk of a sandbox's stderr, for --verbose */
  onStderr?: (runId: string, chunk: Buffer) => void
  /** default: PERSTACK_LOCAL_ISOLATION, else auto */
  isolation?: LocalIsolation
  /** isolated sandboxes kept ready ahead of their runs (default: PERSTACK_LOCAL_WARM_POOL, else 4) */
  warmPool?: number
}

export function localIsolationSetting(value = process.env.PERSTACK_LOCAL_ISOLATION): LocalIsolation {
  if (value === undefined || value === "") return "auto"
  if (value === "auto" || value === "required" || value === "off") return value
  throw new PerstackError("usage", `PERSTACK_LOCAL_ISOLATION="${value}": expected auto, required or off`)
}

let noticed = false

/** Said once per process: where local sandboxes cannot be isolated, they run as plain processes of this user. */
export function notIsolatedNotice(): string | undefined {
  if (noticed || localIsolationSetting() === "off") return undefined
  noticed = true
  return "local sandboxes are not isolated on this machine (bubblewrap is missing or cannot create namespaces here): each Expert runs as a plain process that can read this user's files and processes, and the LLM gateway stays off unless asked for. Install bubblewrap (apt install bubblewrap), or use --sandbox docker"
}

type PreparedStart = Omit<SandboxStartOptions, "spec"> & {
  spec?: SandboxStartOptions["spec"]
  expertKey: string
}

export function createLocalBackend(options: LocalBackendOptions = {}): SandboxBackend & AsyncDisposable {
  // PERSTACK_RUNTIME_ENTRY: for developing the runtime, or benchmarking with a stand-in.
  const entry = options.runtimeEntry ?? process.env.PERSTACK_RUNTIME_ENTRY ?? defaultRuntimeEntry()
  const node = options.nodePath ?? process.execPath
  const mode = options.isolation ?? localIsolationSetting()
  const isolation = async () => {
    if (mode === "off") return undefined
    const status = await bubblewrapStatus()
    if (status.available) return status.command
    if (mode === "required") {
      throw new PerstackError(
        "sandbox.notIsolated",
        `local sandboxes must be isolated (PERSTACK_LOCAL_ISOLATION=required), but ${status.reason}: install bubblewrap (Debian, Ubuntu: apt install bubblewrap), or use --sandbox docker`,
      )
    }
    return undefined
  }
  // Per job: the relay sockets of its locked-down sandboxes (network = "gateway"), freed with the job.
  const relays = new Map<string, Promise<UnixRelays>>()
  const relaysFor = (jobId: string, services: SandboxServices) => {
    let made = relays.get(jobId)
    if (!made) {
      made = startUnixRelays(relayTargets(services))
      relays.set(jobId, made)
      made.catch(() => relays.delete(jobId))
    }
    return made
  }
  const pool = new LocalWarmPool(options.warmPool ?? warmPoolSize("PERSTACK_LOCAL_WARM_POOL"))
  /** The cold launch of a run, and the warm one a pool keeps for runs like it (their own variables held back). */
  const prepare = async (start: PreparedStart) => {
    const { env, workspace, labels } = start
    const bwrap = await isolation()
    const settings = start.settings
    const lockedDown =
      localNetwork(
        { settings, services: start.services, expertKey: start.expertKey },
        bwrap !== undefined,
      ) === "gateway"
    const relay = lockedDown && start.services ? await relaysFor(labels.jobId, start.services) : undefined
    const runtime = [node, ...RUNTIME_NODE_FLAGS, entry]
    // Only our own runtime knows how to fill it (a stand-in program given as the entry would just run).
    const compileCache = bwrap && isOwnRuntime(entry) ? await sandboxCompileCache(node, entry) : undefined
    const [command = node, ...args] = bwrap
      ? [
          bwrap,
          ...(await bubblewrapArgs({
            ...(await isolationPlan(start, node, entry, compileCache)),
            ...(relay ? { relayDir: { host: relay.dir, sandbox: RELAY_DIR_IN_SANDBOX } } : {}),
          })),
          ...runtime,
        ]
      : runtime
    const full = relay && start.services ? lockedDownLocalEnv(env, start.services, relay) : { ...env }
    // The run's own variables: its gateway token, and the proxy's address with its proxy token in it.
    const perRun = new Set([
      ...(start.perRunEnv ?? []),
      ...(start.services?.proxyToken !== undefined
        ? Object.keys(full).filter((name) => full[name]?.includes(start.services?.proxyToken ?? "\0"))
        : []),
    ])
    const shape: Record<string, string> = {
      // Nothing from the orchestrator's own environment: only what this Expert needs, plus our labels.
      // PERSTACK_ACK: stdin stays open after the RunSpec for acknowledgements of stored tool calls.
      ...Object.fromEntries(Object.entries(full).filter(([name]) => !perRun.has(name))),
      PERSTACK_JOB_ID: labels.jobId,
      PERSTACK_ACK: "stdin",
      PERSTACK_SANDBOX: "1",
      ...(compileCache ? { NODE_COMPILE_CACHE: compileCache } : {}),
    }
    const runEnv = Object.fromEntries(
      [...perRun].flatMap((name) => (full[name] !== undefined ? [[name, full[name]]] : [])),
    )
    const base = { command, args, cwd: workspace, isolated: bwrap !== undefined }
    return {
      cold: { ...base, env: { ...shape, ...runEnv, PERSTACK_RUN_ID: labels.runId } },
      warm: { ...base, env: { ...shape, PERSTACK_WARM: "1" } },
      runEnv,
      // Only isolated sandboxes are pooled: a plain process is found and reaped by the run id in its environment.
      pooled: bwrap !== undefined && pool.capacity > 0,
    }
  }
  return {
    name: "local",
    async isolated() {
      return (await isolation()) !== undefined
    },
    async reap(labels) {
      await reapLocalSandbox(labels)
    },
    async releaseJob(jobId) {
      await pool.release(jobId)
      const made = relays.get(jobId)
      relays.delete(jobId)
      await (await made?.catch(() => undefined))?.close()
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      const plans = await prepare({ ...start, expertKey: start.spec.expert.key })
      const warm = plans.pooled ? await pool.claim(start.labels.jobId, plans.warm) : undefined
      const launched = warm ?? (await launch(plans.cold))
      const sandbox = launched.attach({
        spec: { ...start.spec, workspace: start.workspace },
        ...(warm ? { runEnv: plans.runEnv } : {}),
        runId: start.labels.runId,
        ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      })
      // One taken, one launched in its place: the job's next run (a delegate, a resume) then finds one that has had
      // a whole run's time to load, not one launched a moment before it is claimed. After the RunSpec is written: a
      // launch holds this process for milliseconds, which the claimed run would wait for its RunSpec.
      if (warm) pool.fill(start.labels.jobId, plans.warm, 1, () => launch(plans.warm))
      return sandbox
    },
    async prewarm(start: SandboxPrewarmOptions, count: number) {
      const plans = await prepare({ ...start, spec: undefined, labels: { jobId: start.jobId, runId: "" } })
      if (plans.pooled) pool.fill(start.jobId, plans.warm, count, () => launch(plans.warm))
    },
    async [Symbol.asyncDispose]() {
      await pool.release()
    },
  }
}
