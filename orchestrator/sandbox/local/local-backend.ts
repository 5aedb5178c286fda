// The `local` backend: each run is a child process of the runtime, in its own process group, cwd = workspace.
import { existsSync } from "node:fs"
import path from "node:path"
import { execa } from "execa"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/cli/node-flags.ts"
import { packageRoot } from "../../package-root.ts"
import type { Sandbox, SandboxBackend, SandboxExit, SandboxStartOptions } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
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
      const child = execa(node, [...RUNTIME_NODE_FLAGS, entry], {
        cwd: workspace,
        // Nothing from the orchestrator's own environment: only what this Expert needs, plus our labels.
        // PERSTACK_ACK: stdin stays open after the RunSpec for acknowledgements of stored tool calls.
        env: { ...env, PERSTACK_JOB_ID: labels.jobId, PERSTACK_RUN_ID: labels.runId, PERSTACK_ACK: "stdin" },
        extendEnv: false,
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        buffer: false,
        reject: false,
        detached: true,
        cleanup: false,
      })
      const pid = child.pid
      if (pid === undefined) {
        const result = await child
        throw new Error(`could not start the runtime (${node} ${entry}): ${result.message ?? "no pid"}`)
      }
      // The RunSpec goes in on stdin, as its first line: never on the command line, never in a file.
      child.stdin?.on("error", () => {
        // The sandbox ended: nothing more to tell it.
      })
      child.stdin?.write(`${JSON.stringify({ ...spec, workspace })}\n`)
      const tail = new StderrTail()
      child.stderr?.on("data", (chunk: Buffer) => {
        tail.push(chunk)
        options.onStderr?.(labels.runId, chunk)
      })
      let stopReason: "cancelled" | "timeout" | undefined
      let ended = false
      const exited = (async (): Promise<SandboxExit> => {
        const result = await child
        ended = true
        const signal = result.signal ?? undefined
        return {
          exitCode: result.exitCode ?? null,
          ...(signal ? { signal } : {}),
          reason: stopReason ?? (result.exitCode === 0 ? "completed" : "crashed"),
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
        stdout: child.stdout as AsyncIterable<Uint8Array>,
        acknowledge(eventId) {
          if (!ended) child.stdin?.write(`${JSON.stringify({ ack: eventId })}\n`)
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
