// One local sandbox process: launched (the runtime loads its code, then waits for its RunSpec on stdin), then
// attached to a run (the RunSpec written, the events read, the process waited for and stopped).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import type { Readable } from "node:stream"
import type { Sandbox, SandboxExit } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { propagatedStatus, sandboxPid } from "./bubblewrap-plan.ts"
import { type DrainedOutput, drainedOutput } from "./drained-output.ts"
import { descendantsOf, signalAll } from "./process-tree.ts"

export interface LaunchPlan {
  command: string
  args: readonly string[]
  env: Readonly<Record<string, string>>
  cwd: string
  /** under bubblewrap: the runtime is PID 1 of its own namespace, and signals go to it alone */
  isolated: boolean
}

export interface LaunchedProcess {
  readonly pid: number
  readonly launchedAt: number
  readonly child: ChildProcessWithoutNullStreams
  /** alive and not yet attached */
  idle(): boolean
  /** the end of the process, whether or not it was ever attached */
  kill(): void
  /** gives the process its run: `runEnv` (the run's own variables) first, when it was launched warm */
  attach(run: {
    spec: unknown
    runEnv?: Readonly<Record<string, string>>
    runId: string
    onStderr?: (runId: string, chunk: Buffer) => void
  }): Sandbox
}

export async function launch(plan: LaunchPlan): Promise<LaunchedProcess> {
  const launchedAt = Date.now()
  // node:child_process, not execa: with buffer: false, execa discards what a child printed before a consumer
  // attached, and the orchestrator attaches only after storing the run. A child_process stream keeps every byte
  // until it is read, and the pipe's backpressure holds the runtime back meanwhile.
  const child = spawn(plan.command, [...plan.args], {
    cwd: plan.cwd,
    env: { ...plan.env },
    // fd 3: bubblewrap's info (the runtime's pid on this host).
    stdio: ["pipe", "pipe", "pipe", ...(plan.isolated ? (["pipe"] as const) : [])],
    detached: true,
  }) as ChildProcessWithoutNullStreams
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once("spawn", () => resolve(undefined))
    child.once("error", resolve)
  })
  const pid = child.pid
  if (spawned || pid === undefined) {
    throw new Error(`could not start the runtime (${plan.command}): ${spawned?.message ?? "no pid"}`)
  }
  const tail = new StderrTail()
  let stderrListener: ((chunk: Buffer) => void) | undefined
  child.stderr.on("data", (chunk: Buffer) => {
    tail.push(chunk)
    stderrListener?.(chunk)
  })
  let exitedEarly = false
  const processExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      exitedEarly = true
      resolve({ code, signal })
    }),
  )
  // Under bubblewrap, signals go to the runtime itself: its monitor would die of SIGTERM and take the sandbox
  // with it (--die-with-parent), leaving the runtime no time to write its checkpoint.
  const runtimePid = plan.isolated
    ? await sandboxPid(child.stdio[3] as Readable, processExit, () => tail.text())
    : pid
  child.stdin.on("error", () => {
    // The sandbox ended: nothing more to tell it.
  })
  const output = drainedOutput(child.stdout, child.stderr)
  let attached = false
  return {
    pid,
    launchedAt,
    child,
    idle: () => !attached && !exitedEarly,
    kill: () => signalAll([runtimePid, -pid, pid], "SIGKILL"),
    attach(run) {
      attached = true
      if (run.onStderr) stderrListener = (chunk) => run.onStderr?.(run.runId, chunk)
      if (run.runEnv) child.stdin.write(`${JSON.stringify({ env: run.runEnv })}\n`)
      // The RunSpec goes in on stdin, as its first line: never on the command line, never in a file.
      child.stdin.write(`${JSON.stringify(run.spec)}\n`)
      return sandboxOf({ plan, child, pid, runtimePid, tail, output, processExit })
    },
  }
}

function sandboxOf(parts: {
  plan: LaunchPlan
  child: ChildProcessWithoutNullStreams
  pid: number
  runtimePid: number
  tail: StderrTail
  output: DrainedOutput
  processExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}): Sandbox {
  const { plan, child, pid, runtimePid, tail, output } = parts
  const started = Date.now()
  let stopReason: "cancelled" | "timeout" | undefined
  let ended = false
  const exited = (async (): Promise<SandboxExit> => {
    const exit = await parts.processExit
    ended = true
    child.stdin.destroy()
    // The runtime is gone; its output is drained once stdout ends. A process it left behind may hold stdout open:
    // once nothing has come for a while (and the reader is not the one holding back), it is killed and the stream
    // cut, so a run never waits on its leftovers.
    await output.afterExit(() => signalAll([-pid], "SIGKILL"))
    const { code, signal } = plan.isolated ? propagatedStatus(exit) : exit
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
    const tree = plan.isolated ? [] : await descendantsOf(pid)
    signalAll(plan.isolated ? [runtimePid] : [-pid], "SIGTERM")
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
}
