// The warm pool: idle containers started ahead per (job, image, workspace, user, limits, network, environment),
// each with the runtime already started by exec and waiting for its RunSpec on stdin. A container takes exactly
// one run and is destroyed after it: never reused across runs or Experts.
import { randomUUID } from "node:crypto"
import type { Socket } from "node:net"
import type Docker from "dockerode"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"
import { runtimeCommand } from "../container/sandbox-image.ts"
import type { Sandbox } from "../sandbox.ts"
import { type ContainerPlan, containerCreateOptions, containerEnv } from "./container-config.ts"
import { LABEL } from "./labels.ts"
import { type Ended, sandboxHandle } from "./sandbox-handle.ts"

const PID_FILE = "/tmp/.perstack-run.pid"
/** An idle container older than this is not handed out but removed (its runtime has waited long enough). */
const MAX_IDLE_MS = 10 * 60_000
const REFILL_DELAY_MS = 300

/**
 * PID 1's child: waits for the runtime's pid, then lives as long as the runtime does. When the orchestrator goes
 * away, Docker closes the runtime's stdin, the runtime exits, this exits, and Docker removes the container.
 */
const KEEPER = `i=0; while [ ! -s ${PID_FILE} ]; do i=$((i+1)); [ "$i" -gt 600 ] && exit 0; sleep 0.1; done
while kill -0 "$(cat ${PID_FILE})" 2>/dev/null; do sleep 1; done`
/** Writes its pid where the keeper and stop() find it, then becomes the runtime. */
const RUN_WRAPPER = `echo $$ > ${PID_FILE} && exec "$@"`

export interface PoolClaim {
  /** the container as a cold run would have it; `env` goes to the exec only, never into the container's config */
  plan: Omit<ContainerPlan, "name" | "hostSpecDir" | "labels">
  /** job, owner and managed labels */
  labels: Readonly<Record<string, string>>
  spec: RunSpec
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

interface Idle {
  ready: Promise<Warm>
  startedAt: number
}

export class WarmPool implements AsyncDisposable {
  private readonly docker: Docker
  private readonly size: number
  private readonly idle = new Map<string, Idle[]>()
  /** A random id per pool key: the key (which hashes the environment) never goes into a label. */
  private readonly ids = new Map<string, string>()
  private disposed = false

  constructor(options: { docker: Docker; size: number }) {
    this.docker = options.docker
    this.size = options.size
  }

  /** Takes an idle container (or starts one), hands its runtime the RunSpec, and tops the pool up. */
  async claim(claim: PoolClaim): Promise<Sandbox> {
    const key = JSON.stringify([claim.plan, claim.labels])
    const queue = this.idle.get(key) ?? []
    this.idle.set(key, queue)
    let entry = queue.shift()
    while (entry && Date.now() - entry.startedAt > MAX_IDLE_MS) {
      void this.discard(entry)
      entry = queue.shift()
    }
    entry ??= this.warm(claim, key)
    const sandbox = this.run(await entry.ready, claim)
    // Topped up a moment later: starting containers competes for the CPU with the run just handed out.
    setTimeout(() => this.topUp(claim, key), REFILL_DELAY_MS).unref()
    return sandbox
  }

  private topUp(claim: PoolClaim, key: string): void {
    const queue = this.idle.get(key)
    if (!queue || this.disposed) return
    while (queue.length < this.size) queue.push(this.warm(claim, key))
  }

  private warm(claim: PoolClaim, key: string): Idle {
    let id = this.ids.get(key)
    if (!id) {
      id = randomUUID().slice(0, 12)
      this.ids.set(key, id)
    }
    const ready = (async (): Promise<Warm> => {
      const options = containerCreateOptions({
        ...claim.plan,
        // No secret in the container's config: the environment goes to the exec.
        env: {},
        name: `perstack-pool-${randomUUID().slice(0, 12)}`,
        labels: { ...claim.labels, [LABEL.pool]: id },
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
        // The runtime starts now and loads everything, then waits for the RunSpec on stdin's first line.
        const exec = await container.exec({
          Cmd: ["/bin/sh", "-c", RUN_WRAPPER, "perstack-runtime", ...runtimeCommand("-")],
          Env: containerEnv(claim.plan),
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
    })()
    // A failure surfaces when the entry is claimed, or is ignored when it never is.
    ready.catch(() => undefined)
    return { ready, startedAt: Date.now() }
  }

  private run(warm: Warm, claim: PoolClaim): Sandbox {
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
    // The RunSpec on stdin's first line; acknowledgements follow on the same stdin.
    socket.write(`${JSON.stringify(claim.spec)}\n`)
    // Labels are fixed at creation, before the run was known; the name is not: `docker ps` shows the run.
    void container.rename({ name: `perstack-${claim.spec.runId}` }).catch(() => undefined)
    return sandboxHandle({
      id: container.id.slice(0, 12),
      image: claim.plan.image,
      stream: socket,
      exited,
      terminate: () => this.signalRun(container, "TERM"),
      kill: () => container.kill({ signal: "SIGKILL" }),
      cleanUp: () => container.remove({ force: true }),
      started: Date.now(),
      ...(claim.timeoutMs !== undefined ? { timeoutMs: claim.timeoutMs } : {}),
      ...(claim.onStderr ? { onStderr: claim.onStderr } : {}),
      ...(claim.onCleanUp ? { onCleanUp: claim.onCleanUp } : {}),
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

  private async discard(entry: Idle): Promise<void> {
    const warm = await entry.ready.catch(() => undefined)
    warm?.socket.destroy()
    await warm?.container.remove({ force: true }).catch(() => undefined)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true
    const all = [...this.idle.values()].flat()
    this.idle.clear()
    await Promise.all(all.map((entry) => this.discard(entry)))
  }
}
