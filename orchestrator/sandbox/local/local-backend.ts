// The `local` backend: each run is a child process of the runtime, in its own process group, cwd = workspace; under
// bubblewrap (when the machine allows it) in namespaces of its own, seeing the workspace and nothing else it could
// change.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { realpath } from "node:fs/promises"
import { constants } from "node:os"
import path from "node:path"
import type { Readable } from "node:stream"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/cli/node-flags.ts"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { packageRoot } from "../../package-root.ts"
import type { Sandbox, SandboxBackend, SandboxExit, SandboxStartOptions } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { bubblewrapArgs, bubblewrapStatus } from "./bubblewrap.ts"
import { sandboxCompileCache } from "./compile-cache.ts"
import { drainedOutput } from "./drained-output.ts"
import { emptyFile } from "./empty-file.ts"
import { descendantsOf, signalAll } from "./process-tree.ts"
import { reapLocalSandbox } from "./reap.ts"

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
  return {
    name: "local",
    async isolated() {
      return (await isolation()) !== undefined
    },
    async reap(labels) {
      await reapLocalSandbox(labels)
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      const { spec, env, workspace, labels } = start
      const started = Date.now()
      const bwrap = await isolation()
      const runtime = [node, ...RUNTIME_NODE_FLAGS, entry]
      // Only our own runtime knows how to fill it (a stand-in program given as the entry would just run).
      const compileCache = bwrap && isOwnRuntime(entry) ? await sandboxCompileCache(node, entry) : undefined
      const [command, ...args] = bwrap
        ? [
            bwrap,
            ...(await bubblewrapArgs(await isolationPlan(start, node, entry, compileCache))),
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
          ...env,
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

/** What the sandbox sees of the host: the folders the runtime loads from, read-only, and the workspace. */
async function isolationPlan(
  start: SandboxStartOptions,
  node: string,
  entry: string,
  compileCache: string | undefined,
) {
  const root = await realpath(packageRoot())
  const readOnly = new Set([root, path.dirname(await realpath(node))])
  if (compileCache) readOnly.add(compileCache)
  // A checkout whose node_modules links elsewhere (a git worktree sharing another's) loads from there.
  const modules = await realpath(path.join(root, "node_modules")).catch(() => undefined)
  if (modules && !modules.startsWith(`${root}${path.sep}`)) readOnly.add(modules)
  const entryDir = path.dirname(await realpath(entry))
  if (!isWithin(entryDir, root) && !isWithin(entryDir, start.workspace)) readOnly.add(entryDir)
  const store = path.join(start.workspace, "perstack")
  return {
    workspace: start.workspace,
    readOnly: [...readOnly],
    ...(start.env.HOME ? { home: start.env.HOME } : {}),
    protectedPaths: start.protectedPaths ?? [],
    emptyFile: await emptyFile(),
    ...(existsSync(store) ? { store } : {}),
    infoFd: 3,
  }
}

function isOwnRuntime(entry: string): boolean {
  const root = packageRoot()
  return [
    path.join(root, "dist/runtime/perstack-runtime.js"),
    path.join(root, "runtime/cli/bin.ts"),
  ].includes(path.resolve(entry))
}

function isWithin(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir)
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))
}

/** The runtime's pid on this host, from bubblewrap's info fd; a sandbox that could not be set up is an error. */
async function sandboxPid(info: Readable, exit: Promise<unknown>, stderr: () => string): Promise<number> {
  let text = ""
  info.setEncoding("utf8")
  const pid = await Promise.race([
    new Promise<number | undefined>((resolve) => {
      info.on("data", (chunk: string) => {
        text += chunk
        const match = /"child-pid"\s*:\s*(\d+)/.exec(text)
        if (match) resolve(Number(match[1]))
      })
      info.once("end", () => resolve(undefined))
    }),
    exit.then(() => undefined),
  ])
  if (pid === undefined) {
    await exit
    throw new PerstackError(
      "sandbox.startFailed",
      `bubblewrap could not set up the sandbox: ${stderr().trim() || "no reason given"}`,
    )
  }
  info.resume()
  return pid
}

/** bubblewrap exits 128 + N when its child died of signal N: report the signal, as a plain process would. */
function propagatedStatus(exit: { code: number | null; signal: NodeJS.Signals | null }) {
  if (exit.code === null || exit.code <= 128) return exit
  const name = Object.entries(constants.signals).find(([, number]) => number === (exit.code ?? 0) - 128)?.[0]
  return name ? { code: null, signal: name as NodeJS.Signals } : exit
}
