// The `local` backend: each run is a child process of the runtime, in its own process group, cwd = workspace; under
// bubblewrap (when the machine allows it) in namespaces of its own, seeing the workspace and nothing else it could
// change.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import path from "node:path"
import type { Readable } from "node:stream"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/cli/node-flags.ts"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { packageRoot } from "../../package-root.ts"
import type {
  Sandbox,
  SandboxBackend,
  SandboxExit,
  SandboxServices,
  SandboxStartOptions,
} from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { bubblewrapArgs, bubblewrapStatus } from "./bubblewrap.ts"
import { isOwnRuntime, isolationPlan, propagatedStatus, sandboxPid } from "./bubblewrap-plan.ts"
import { sandboxCompileCache } from "./compile-cache.ts"
import { drainedOutput } from "./drained-output.ts"
import { localNetwork, lockedDownLocalEnv, relayTargets } from "./local-network.ts"
import { descendantsOf, signalAll } from "./process-tree.ts"
import { reapLocalSandbox } from "./reap.ts"
import { RELAY_DIR_IN_SANDBOX, startUnixRelays, type UnixRelays } from "./unix-relay.ts"

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

export function createLocalBackend(options: LocalBackendOptions = {}): SandboxBackend {
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
  return {
    name: "local",
    async isolated() {
      return (await isolation()) !== undefined
    },
    async reap(labels) {
      await reapLocalSandbox(labels)
    },
    async releaseJob(jobId) {
      const made = relays.get(jobId)
      relays.delete(jobId)
      await (await made?.catch(() => undefined))?.close()
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      const { spec, env, workspace, labels } = start
      const started = Date.now()
      const bwrap = await isolation()
      const lockedDown = localNetwork(start, bwrap !== undefined) === "gateway"
      const relay = lockedDown && start.services ? await relaysFor(labels.jobId, start.services) : undefined
      const runtime = [node, ...RUNTIME_NODE_FLAGS, entry]
      // Only our own runtime knows how to fill it (a stand-in program given as the entry would just run).
      const compileCache = bwrap && isOwnRuntime(entry) ? await sandboxCompileCache(node, entry) : undefined
      const [command, ...args] = bwrap
        ? [
            bwrap,
            ...(await bubblewrapArgs({
              ...(await isolationPlan(start, node, entry, compileCache)),
              ...(relay ? { relayDir: { host: relay.dir, sandbox: RELAY_DIR_IN_SANDBOX } } : {}),
            })),
            ...runtime,
          ]
        : runtime
      // node:child_process, not execa: with buffer: false, execa discards what a child printed before a consumer
      // attached, and the orchestrator attaches only after storing the run. A child_process stream keeps every
      // byte until it is read, and the pipe's backpressure holds the runtime back meanwhile.
      const child = spawn(command ?? node, args, {
        cwd: workspace,
        // Nothing from the orchestrator's own environment: only what this Expert needs, plus our labels.
        // PERSTACK_ACK: stdin stays open after the RunSpec for acknowledgements of stored tool calls.
        env: {
          ...(relay && start.services ? lockedDownLocalEnv(env, start.services, relay) : env),
          PERSTACK_JOB_ID: labels.jobId,
          PERSTACK_RUN_ID: labels.runId,
          PERSTACK_ACK: "stdin",
          PERSTACK_SANDBOX: "1",
          ...(compileCache ? { NODE_COMPILE_CACHE: compileCache } : {}),
        },
        // fd 3: bubblewrap's info (the runtime's pid on this host).
        stdio: ["pipe", "pipe", "pipe", ...(bwrap ? (["pipe"] as const) : [])],
        detached: true,
      })
      const spawned = await new Promise<Error | undefined>((resolve) => {
        child.once("spawn", () => resolve(undefined))
        child.once("error", resolve)
      })
      const pid = child.pid
      if (spawned || pid === undefined) {
        throw new Error(`could not start the runtime (${command} ${entry}): ${spawned?.message ?? "no pid"}`)
      }
      const tail = new StderrTail()
      child.stderr.on("data", (chunk: Buffer) => {
        tail.push(chunk)
        options.onStderr?.(labels.runId, chunk)
      })
      const processExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal })),
      )
      // Under bubblewrap, signals go to the runtime itself: its monitor would die of SIGTERM and take the sandbox
      // with it (--die-with-parent), leaving the runtime no time to write its checkpoint.
      const runtimePid = bwrap
        ? await sandboxPid(child.stdio[3] as Readable, processExit, () => tail.text())
        : pid
      child.stdin.on("error", () => {
        // The sandbox ended: nothing more to tell it.
      })
      // The RunSpec goes in on stdin, as its first line: never on the command line, never in a file.
      child.stdin.write(`${JSON.stringify({ ...spec, workspace })}\n`)
      let stopReason: "cancelled" | "timeout" | undefined
      let ended = false
      const output = drainedOutput(child.stdout, child.stderr)
      const exited = (async (): Promise<SandboxExit> => {
        const exit = await processExit
        ended = true
        child.stdin.destroy()
        // The runtime is gone; its output is drained once stdout ends. A process it left behind may hold stdout
        // open: once nothing has come for a while (and the reader is not the one holding back), it is killed and
        // the stream cut, so a run never waits on its leftovers.
        await output.afterExit(() => signalAll([-pid], "SIGKILL"))
        const { code, signal } = bwrap ? propagatedStatus(exit) : exit
        return {
          exitCode: code,
          ...(signal ? { signal } : {}),
          reason: stopReason ?? (code === 0 ? "completed" : "crashed"),
          stderrTail: tail.text(),
          durationMs: Date.now() - started,
        }
      })()

      const stop = async ({ graceMs = 5_000, reason = "cancelled" as const } = {}) => {
        if (ended) return
        stopReason ??= reason
        // Under bubblewrap the runtime is PID 1 of its namespace: killing it kills everything in the sandbox.
        const tree = bwrap ? [] : await descendantsOf(pid)
        signalAll(bwrap ? [runtimePid] : [-pid], "SIGTERM")
        const timer = setTimeout(() => signalAll([runtimePid, -pid, pid, ...tree], "SIGKILL"), graceMs)
        timer.unref()
        await exited
        clearTimeout(timer)
        // exec'd commands run in sessions of their own: make sure none outlives the sandbox.
        signalAll(tree, "SIGKILL")
      }

      return {
        id: `pid:${pid}`,
        backend: "local",
        stdout: output.stdout,
        acknowledge(eventId) {
          if (!ended) child.stdin.write(`${JSON.stringify({ ack: eventId })}\n`)
        },
        wait: () => exited,
        stop,
        async [Symbol.asyncDispose]() {
          await stop({ graceMs: 1_000 })
        },
      }
    },
  }
}
