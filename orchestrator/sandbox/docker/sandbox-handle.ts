// The Sandbox handle over a process in a container (the container's own, or an exec in a warm one): stdout
// demultiplexed, stderr's tail kept, a timeout, stop = graceful then forced, clean-up once it has ended.
import { constants } from "node:os"
import type { Sandbox, SandboxExit, SandboxExitReason } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { demuxFrames } from "./frame-demuxer.ts"

export interface Ended {
  exitCode: number | null
  /** the kernel killed a process of the container for memory (it may have been a tool's, not the runtime) */
  oomKilled: boolean
  /** the container's memory limit (HostConfig.Memory), bytes */
  memoryLimitBytes?: number
  /** why the end could not be observed (the engine went away) */
  error?: string
}

export interface ProcessControl {
  id: string
  image: string
  /** the multiplexed attach or exec stream, attached before the process started; its write side is stdin */
  stream: NodeJS.ReadWriteStream
  /** resolves when the process has ended */
  exited: Promise<Ended>
  /** asks the runtime to stop (SIGTERM): it ends with a resumable checkpoint */
  terminate(): Promise<void>
  /** ends it at once, and everything it started */
  kill(): Promise<void>
  /** removes what the sandbox leaves behind (the container, the RunSpec folder); called once */
  cleanUp(): Promise<void>
  started: number
  timeoutMs?: number
  onStderr?: (chunk: Buffer) => void
  /** told of the clean-up once it starts, so that its owner can wait for it (the backend's dispose) */
  onCleanUp?: (done: Promise<void>) => void
}

/** 128 + n is how a shell, and Docker's init, report a death by signal n. */
export function signalOf(exitCode: number | null): string | undefined {
  if (exitCode === null || exitCode <= 128 || exitCode >= 160) return undefined
  return Object.entries(constants.signals).find(([, number]) => number === exitCode - 128)?.[0]
}

export function sandboxHandle(control: ProcessControl): Sandbox {
  const tail = new StderrTail()
  let stopReason: "cancelled" | "timeout" | undefined
  let ended = false
  const exited = control.exited.finally(() => {
    ended = true
  })

  let markDrained: () => void = () => {}
  const drained = new Promise<void>((resolve) => {
    markDrained = resolve
  })
  async function* stdout(): AsyncGenerator<Uint8Array> {
    try {
      yield* demuxFrames(control.stream as AsyncIterable<Uint8Array>, (chunk) => {
        tail.push(chunk)
        control.onStderr?.(chunk)
      })
    } finally {
      markDrained()
    }
  }

  async function stop({ graceMs = 5_000, reason = "cancelled" as "cancelled" | "timeout" } = {}) {
    if (ended) return
    stopReason ??= reason
    await control.terminate().catch(() => undefined)
    const force = setTimeout(() => void control.kill().catch(() => undefined), graceMs)
    force.unref()
    await exited
    clearTimeout(force)
  }

  const timer =
    control.timeoutMs === undefined
      ? undefined
      : setTimeout(() => void stop({ reason: "timeout" }), control.timeoutMs)
  timer?.unref()

  let cleaned: Promise<void> | undefined
  const cleanUp = () => {
    if (!cleaned) {
      cleaned = (async () => {
        if (timer) clearTimeout(timer)
        await control.cleanUp().catch(() => undefined)
      })()
      control.onCleanUp?.(cleaned)
    }
    return cleaned
  }

  return {
    id: control.id,
    backend: "docker",
    image: control.image,
    stdout: stdout(),
    acknowledge(eventId: string) {
      if (!ended) control.stream.write(`${JSON.stringify({ ack: eventId })}\n`)
    },
    async wait(): Promise<SandboxExit> {
      const end = await exited
      await drained
      // Removal takes ~100 ms and holds nothing the orchestrator needs: the next run (a delegate, the resumed
      // parent) need not wait for it. The pending request keeps the process alive until it is done.
      void cleanUp()
      const signal = signalOf(end.exitCode)
      const reason: SandboxExitReason =
        stopReason ?? (end.exitCode === 0 ? "completed" : end.oomKilled ? "oomKilled" : "crashed")
      return {
        exitCode: end.exitCode,
        ...(signal ? { signal } : {}),
        reason,
        stderrTail: end.error ? `${tail.text()}\n${end.error}`.trim() : tail.text(),
        durationMs: Date.now() - control.started,
        ...(reason === "oomKilled" && end.memoryLimitBytes ? { memoryLimitBytes: end.memoryLimitBytes } : {}),
      }
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop({ graceMs: 1_000 })
      ;(control.stream as { destroy?: () => void }).destroy?.()
      markDrained()
      await cleanUp()
    },
  }
}
