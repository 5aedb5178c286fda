// The warm pool: containers started ahead of their runs, per job and per shape (image, workspace, user, limits,
// network, mounts and environment), each with the runtime already started by exec and waiting on stdin. A run claims
// one and hands it, on stdin, its own variables (its gateway token) and then its RunSpec: neither is ever in the
// container's config, its labels, the exec's environment or a command line. A container takes exactly one run and is
// destroyed after it. Bounded across the backend's jobs; idle ones go when their job ends or they have idled too long.
import { createHash, randomUUID } from "node:crypto"
import type { Socket } from "node:net"
import type Docker from "dockerode"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"
import { runtimeCommand } from "../container/sandbox-image.ts"
import type { Sandbox } from "../sandbox.ts"
import { containerCreateOptions, containerEnv } from "./container-config.ts"
import { LABEL } from "./labels.ts"
import type { RunPlan } from "./run-plan.ts"
import { type Ended, sandboxHandle } from "./sandbox-handle.ts"

const PID_FILE = "/tmp/.perstack-run.pid"
/** A container unclaimed this long is removed: it holds about a runtime's memory (a coordinator may think for minutes). */
const IDLE_MS = 5 * 60_000

/**
 * PID 1's child: waits for the runtime's pid, then lives as long as the runtime does. When the orchestrator goes
 * away, Docker closes the runtime's stdin, the runtime exits, this exits, and Docker removes the container.
 */
const KEEPER = `i=0; while [ ! -s ${PID_FILE} ]; do i=$((i+1)); [ "$i" -gt 600 ] && exit 0; sleep 0.1; done
while kill -0 "$(cat ${PID_FILE})" 2>/dev/null; do sleep 1; done`
/** Writes its pid where the keeper and stop() find it, then becomes the runtime. */
const RUN_WRAPPER = `echo $$ > ${PID_FILE} && exec "$@"`

/** What a warm container is made of: the run's plan with its environment less the run's own variables. */
export interface WarmShape {
  plan: RunPlan
  /** job, owner and managed labels (and the backend's extras) */
  labels: Readonly<Record<string, string>>
}

export interface PoolRun {
  spec: RunSpec
  /** the run's own variables (its gateway token, its run id), sent on stdin before the RunSpec */
  runEnv: Readonly<Record<string, string>>
  timeoutMs?: number
  onStderr?: (chunk: Buffer) => void
  onCleanUp?: (done: Promise<void>) => void
}

interface Warm {
  container: Docker.Container
  exec: Docker.Exec
  /** the exec's hijacked connection: stdin one way, the multiplexed stdout/stderr the other */
  socket: Socket
}

interface Entry {
  jobId: string
  key: string
  ready: Promise<Warm | undefined>
  timer: NodeJS.Timeout
  /** dropped before its turn came: never started */
  dropped: boolean
}

/** The same for every run of one shape; the environment sorted, so its order does not matter. */
export function shapeKey(shape: WarmShape): string {
  const sorted = (record: Readonly<Record<string, string>>) =>
    Object.entries(record).sort(([a], [b]) => a.localeCompare(b))
  return createHash("sha256")
    .update(JSON.stringify([{ ...shape.plan, env: sorted(shape.plan.env) }, sorted(shape.labels)]))
    .digest("hex")
}

export class WarmPool implements AsyncDisposable {
  private readonly docker: Docker
  readonly capacity: number
  private readonly entries = new Set<Entry>()
  /** A random id per shape: the key (which hashes the environment) never goes into a label. */
  private readonly ids = new Map<string, string>()
  private disposed = false
  /**
   * Containers start one after another: the first one asked for (the one the job's next run claims) is ready sooner
   * than if every one asked for competed for the CPU at once.
   */
  private queue: Promise<unknown> = Promise.resolve()

  /** `capacity`: warm containers at most, across every job of this backend */
  constructor(options: { docker: Docker; capacity: number }) {
    this.docker = options.docker
    this.capacity = options.capacity
  }

  get size(): number {
    return this.entries.size
  }

  /** How many containers of this job and shape wait (or are starting). */
  waiting(jobId: string, shape: WarmShape): number {
    const key = shapeKey(shape)
    return [...this.entries].filter((entry) => entry.jobId === jobId && entry.key === key).length
  }

  /** Starts containers for `shape` ahead of their runs until `count` wait for it, as far as the capacity allows. */
  fill(jobId: string, shape: WarmShape, count: number): void {
    if (this.disposed) return
    const key = shapeKey(shape)
    for (let i = this.waiting(jobId, shape); i < count && this.entries.size < this.capacity; i++) {
      const entry: Entry = {
        jobId,
        key,
        // A start that fails leaves nothing to claim: the run that would have claimed it starts cold.
        ready: this.queue
          .then(() => (entry.dropped ? undefined : this.warm(shape, key)))
          .catch(() => undefined),
        timer: setTimeout(() => void this.drop(entry), IDLE_MS),
        dropped: false,
      }
      this.queue = entry.ready
      entry.timer.unref()
      this.entries.add(entry)
    }
  }

  /** A container of this job and shape, its runtime alive and waiting, given `run`; undefined when none waits. */
  async claim(jobId: string, shape: WarmShape, run: PoolRun): Promise<Sandbox | undefined> {
    const key = shapeKey(shape)
    for (const entry of this.entries) {
      if (entry.jobId !== jobId || entry.key !== key) continue
      this.entries.delete(entry)
      clearTimeout(entry.timer)
      const warm = await entry.ready
      if (warm && !warm.socket.destroyed && !warm.socket.readableEnded) return this.run(warm, shape, run)
      void this.discard(entry)
    }
    return undefined
  }

  /** Removes the job's idle containers (all of them without a job id). */
  async release(jobId?: string): Promise<void> {
    await Promise.all(
      [...this.entries]
        .filter((entry) => jobId === undefined || entry.jobId === jobId)
        .map((entry) => this.drop(entry)),
    )
  }

  private async warm(shape: WarmShape, key: string): Promise<Warm> {
    let id = this.ids.get(key)
    if (!id) {
      id = randomUUID().slice(0, 12)
      this.ids.set(key, id)
    }
    const options = containerCreateOptions({
      ...shape.plan,
      // Nothing of the run's environment in the container's config: it goes to the exec.
      env: {},
      name: `perstack-pool-${randomUUID().slice(0, 12)}`,
      labels: { ...shape.labels, [LABEL.pool]: id },
      cmd: ["/bin/sh", "-c", KEEPER],
    })
    const container = await this.docker.createContainer({
      ...options,
      AttachStdout: false,
      AttachStderr: false,
      HostConfig: { ...options.HostConfig, AutoRemove: true },
    })
    try {
      await container.start()
      // The runtime starts now and loads everything, then waits on stdin for its run's variables and its RunSpec.
      // PERSTACK_WARM=1 is what tells it they come there (see runtime/cli/main.ts).
      const exec = await container.exec({
        Cmd: ["/bin/sh", "-c", RUN_WRAPPER, "perstack-runtime", ...runtimeCommand("-")],
        Env: [...containerEnv(shape.plan), "PERSTACK_WARM=1"],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      })
      const socket = (await exec.start({ hijack: true, stdin: true, Tty: false })) as unknown as Socket
      // An idle connection must not keep the orchestrator's process alive.
      socket.unref()
      return { container, exec, socket }
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined)
      throw error
    }
  }

  private run(warm: Warm, shape: WarmShape, run: PoolRun): Sandbox {
    const { container, exec, socket } = warm
    socket.ref()
    const exited = new Promise<Ended>((resolve) => {
      let done = false
      const finish = async () => {
        if (done) return
        done = true
        const info = await exec.inspect().catch(() => undefined)
        resolve({ exitCode: info?.ExitCode ?? null, oomKilled: false })
      }
      socket.once("close", () => void finish())
      socket.once("end", () => void finish())
    })
    // The run's own variables, then the RunSpec, each on a line of its own; acknowledgements follow on the same stdin.
    socket.write(`${JSON.stringify({ env: run.runEnv })}\n${JSON.stringify(run.spec)}\n`)
    // Labels are fixed at creation, before the run was known; the name is not: `docker ps` shows the run.
    void container.rename({ name: `perstack-${run.spec.runId}` }).catch(() => undefined)
    return sandboxHandle({
      id: container.id.slice(0, 12),
      image: shape.plan.image,
      stream: socket,
      exited,
      terminate: () => this.signalRun(container, "TERM"),
      kill: () => container.kill({ signal: "SIGKILL" }),
      cleanUp: () => container.remove({ force: true }),
      started: Date.now(),
      ...(run.timeoutMs !== undefined ? { timeoutMs: run.timeoutMs } : {}),
      ...(run.onStderr ? { onStderr: run.onStderr } : {}),
      ...(run.onCleanUp ? { onCleanUp: run.onCleanUp } : {}),
    })
  }

  /** The runtime is not PID 1 here: signal it by the pid its wrapper wrote. */
  private async signalRun(container: Docker.Container, signal: "TERM"): Promise<void> {
    const exec = await container.exec({
      Cmd: ["/bin/sh", "-c", `kill -${signal} "$(cat ${PID_FILE})"`],
      AttachStdout: false,
      AttachStderr: false,
    })
    await exec.start({ Detach: true })
  }

  private async drop(entry: Entry): Promise<void> {
    entry.dropped = true
    this.entries.delete(entry)
    clearTimeout(entry.timer)
    await this.discard(entry)
  }

  private async discard(entry: Entry): Promise<void> {
    const warm = await entry.ready
    warm?.socket.destroy()
    await warm?.container.remove({ force: true }).catch(() => undefined)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true
    await this.release()
  }
}
