// A sandbox that is one container: attached before it starts, stopped through Docker's init, removed (with its
// RunSpec folder) once it has ended.
import type Docker from "dockerode"
import type { Sandbox } from "../sandbox.ts"
import type { RunSpecDir } from "./run-spec-dir.ts"
import { type Ended, sandboxHandle } from "./sandbox-handle.ts"

export interface ContainerSandboxOptions {
  container: Docker.Container
  image: string
  specDir: RunSpecDir
  /** wall-clock limit of the run ([experts."x".sandbox] timeout), ms */
  timeoutMs?: number
  onStderr?: (chunk: Buffer) => void
  onCleanUp?: (done: Promise<void>) => void
}

/** Attaches to a created container, starts it and returns its handle; on failure removes what it made. */
export async function startContainerSandbox(options: ContainerSandboxOptions): Promise<Sandbox> {
  const { container } = options
  const started = Date.now()
  let stream: NodeJS.ReadWriteStream | undefined
  try {
    // Before start: not a byte of output can be missed.
    // Hijacked: the same connection carries stdin (acknowledgements) one way and stdout/stderr the other.
    stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })
    await container.start()
  } catch (error) {
    ;(stream as { destroy?: () => void } | undefined)?.destroy?.()
    await container.remove({ force: true }).catch(() => undefined)
    await options.specDir.remove()
    throw error
  }
  const exited: Promise<Ended> = container.wait().then(
    async ({ StatusCode }: { StatusCode: number }) => {
      const info = await inspectAfterExit(container, StatusCode)
      const memory = info?.HostConfig?.Memory
      return {
        exitCode: StatusCode,
        oomKilled: info?.State?.OOMKilled === true,
        ...(memory ? { memoryLimitBytes: memory } : {}),
      }
    },
    (error: Error) => ({ exitCode: null, oomKilled: false, error: error.message }),
  )
  return sandboxHandle({
    id: container.id.slice(0, 12),
    image: options.image,
    stream,
    exited,
    // To Docker's init (PID 1), which passes it on to the runtime.
    terminate: () => container.kill({ signal: "SIGTERM" }),
    kill: () => container.kill({ signal: "SIGKILL" }),
    cleanUp: async () => {
      await container.remove({ force: true }).catch(() => undefined)
      await options.specDir.remove()
    },
    started,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    ...(options.onCleanUp ? { onCleanUp: options.onCleanUp } : {}),
  })
}

/**
 * The container's state once it has exited. A SIGKILL (137) may be the kernel's OOM killer: an engine that hears of the
 * OOM after the exit (Docker 20.10 under load) says OOMKilled a moment later, so a 137 without it is asked again, for
 * up to a second, before it is taken for a plain crash.
 */
async function inspectAfterExit(container: Docker.Container, exitCode: number) {
  let info = await container.inspect().catch(() => undefined)
  for (let asked = 0; exitCode === 137 && info && info.State?.OOMKilled !== true && asked < 5; asked++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    info = (await container.inspect().catch(() => undefined)) ?? info
  }
  return info
}
