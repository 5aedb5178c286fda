// A local sandbox's stdout, kept from its first byte, and ended once the process has exited and its output is read.
import { PassThrough, type Readable } from "node:stream"

/** How long output may stay silent after the process exited before whatever still holds the pipe is cut off. */
const QUIET_AFTER_EXIT_MS = 2_000
const POLL_MS = 250

export interface DrainedOutput {
  /** every byte the process printed; backpressure reaches the process through the pipe */
  readonly stdout: Readable
  /**
   * Resolves when stdout and stderr have ended. Called once the process has exited: if a process it left behind
   * holds a pipe open and nothing arrives for a while (while the reader keeps up), `killLeftovers` runs and the
   * streams are cut.
   */
  afterExit(killLeftovers: () => void): Promise<void>
}

export function drainedOutput(stdout: Readable, stderr: Readable): DrainedOutput {
  // Piped at once: what the process prints before the orchestrator starts reading waits here, nothing is lost.
  const out = new PassThrough({ highWaterMark: 64 * 1024 })
  stdout.pipe(out)
  let lastData = Date.now()
  const touch = () => {
    lastData = Date.now()
  }
  stdout.on("data", touch)
  stderr.on("data", touch)
  const closed = (stream: Readable) =>
    new Promise<void>((resolve) => {
      if (stream.closed) resolve()
      else stream.once("close", resolve)
    })
  const ended = Promise.all([closed(stdout), closed(stderr)]).then(() => undefined)
  return {
    stdout: out,
    async afterExit(killLeftovers) {
      lastData = Math.max(lastData, Date.now())
      const timer = setInterval(() => {
        // A paused stdout means the reader is behind: the pipe is full of real output, not held by a leftover.
        const readerBehind = stdout.isPaused() || out.writableNeedDrain
        if (readerBehind || Date.now() - lastData < QUIET_AFTER_EXIT_MS) return
        clearInterval(timer)
        killLeftovers()
        stdout.destroy()
        stderr.destroy()
        out.end()
      }, POLL_MS)
      timer.unref()
      await ended
      clearInterval(timer)
    },
  }
}
