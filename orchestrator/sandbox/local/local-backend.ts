// The `local` backend: each run is a child process of the runtime, in its own process group, cwd = workspace.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import path from "node:path"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/cli/node-flags.ts"
import { packageRoot } from "../../package-root.ts"
import type { Sandbox, SandboxBackend, SandboxExit, SandboxStartOptions } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { drainedOutput } from "./drained-output.ts"
import { descendantsOf, signalAll } from "./process-tree.ts"
import { reapLocalSandbox } from "./reap.ts"

/** The bundled runtime when built (fast start), else the source (Node runs TypeScript directly). */
export function defaultRuntimeEntry(): string {
  const root = packageRoot()
  const bundled = path.join(root, "dist/runtime/perstack-runtime.js")
  return existsSync(bundled) ? bundled : path.join(root, "runtime/cli/bin.ts")
}

export interface LocalBackendOptions {
  /** the runtime program (default: PERSTACK_RUNTIME_ENTRY, else the bundle, else the source) */
  runtimeEntry?: string
  /** the Node binary (default: the one running the orchestrator) */
  nodePath?: string
  /** each chunk of a sandbox's stderr, for --verbose */
  onStderr?: (runId: string, chunk: Buffer) => void
}

export function createLocalBackend(options: LocalBackendOptions = {}): SandboxBackend {
  // PERSTACK_RUNTIME_ENTRY: for developing the runtime, or benchmarking with a stand-in.
  const entry = options.runtimeEntry ?? process.env.PERSTACK_RUNTIME_ENTRY ?? defaultRuntimeEntry()
  const node = options.nodePath ?? process.execPath
  return {
    name: "local",
    async reap(labels) {
      await reapLocalSandbox(labels)
    },
    async start({ spec, env, workspace, labels }: SandboxStartOptions): Promise<Sandbox> {
      const started = Date.now()
      // node:child_process, not execa: with buffer: false, execa discards what a child printed before a consumer
      // attached, and the orchestrator attaches only after storing the run. A child_process stream keeps every
      // byte until it is read, and the pipe's backpressure holds the runtime back meanwhile.
      const child = spawn(node, [...RUNTIME_NODE_FLAGS, entry], {
        cwd: workspace,
        // Nothing from the orchestrator's own environment: only what this Expert needs, plus our labels.
        // PERSTACK_ACK: stdin stays open after the RunSpec for acknowledgements of stored tool calls.
        env: { ...env, PERSTACK_JOB_ID: labels.jobId, PERSTACK_RUN_ID: labels.runId, PERSTACK_ACK: "stdin" },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      })
      const spawned = await new Promise<Error | undefined>((resolve) => {
        child.once("spawn", () => resolve(undefined))
        child.once("error", resolve)
      })
      const pid = child.pid
      if (spawned || pid === undefined) {
        throw new Error(`could not start the runtime (${node} ${entry}): ${spawned?.message ?? "no pid"}`)
      }
      child.stdin.on("error", () => {
        // The sandbox ended: nothing more to tell it.
      })
      // The RunSpec goes in on stdin, as its first line: never on the command line, never in a file.
      child.stdin.write(`${JSON.stringify({ ...spec, workspace })}\n`)
      const tail = new StderrTail()
      child.stderr.on("data", (chunk: Buffer) => {
        tail.push(chunk)
        options.onStderr?.(labels.runId, chunk)
      })
      let stopReason: "cancelled" | "timeout" | undefined
      let ended = false
      const processExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal })),
      )
      const output = drainedOutput(child.stdout, child.stderr)
      const exited = (async (): Promise<SandboxExit> => {
        const { code, signal } = await processExit
        ended = true
        child.stdin.destroy()
        // The runtime is gone; its output is drained once stdout ends. A process it left behind may hold stdout
        // open: once nothing has come for a while (and the reader is not the one holding back), it is killed and
        // the stream cut, so a run never waits on its leftovers.
        await output.afterExit(() => signalAll([-pid], "SIGKILL"))
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
        const tree = await descendantsOf(pid)
        signalAll([-pid], "SIGTERM")
        const timer = setTimeout(() => signalAll([-pid, pid, ...tree], "SIGKILL"), graceMs)
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
