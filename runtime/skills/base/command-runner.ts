// Runs one command without a shell in its own process group, capturing its output, and kills the whole group on timeout or abort.
import { spawn } from "node:child_process"
import { PerstackError } from "../../errors/perstack-error.ts"
import { CappedOutput, type CappedText } from "./capped-output.ts"

/** how long a SIGTERM'd group gets before SIGKILL */
const KILL_GRACE_MS = 2_000
/**
 * How long, after the command exits, to wait for its output pipes to close. A background process it left behind
 * may hold them open for ever; we stop reading rather than wait for it.
 */
const EXIT_DRAIN_MS = 500

export type RunCommandOptions = {
  command: string
  args: readonly string[]
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  /** per stream */
  maxOutputBytes: number
  captureStdout: boolean
  captureStderr: boolean
  signal?: AbortSignal
}

export type CommandOutcome = {
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  aborted: boolean
  stdout?: CappedText
  stderr?: CappedText
}

export function runCommand(options: RunCommandOptions): Promise<CommandOutcome> {
  if (options.signal?.aborted) {
    return Promise.reject(
      new PerstackError("exec.aborted", `"${options.command}" was not started: the run was aborted.`),
    )
  }
  return new Promise((resolve, reject) => {
    // stdout is the sandbox's event protocol: the child never inherits it, nor stdin.
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", options.captureStdout ? "pipe" : "ignore", options.captureStderr ? "pipe" : "ignore"],
      detached: true,
      shell: false,
      windowsHide: true,
    })
    const stdout = options.captureStdout ? new CappedOutput(options.maxOutputBytes) : undefined
    const stderr = options.captureStderr ? new CappedOutput(options.maxOutputBytes) : undefined
    child.stdout?.on("data", (chunk: Buffer) => stdout?.push(chunk))
    child.stderr?.on("data", (chunk: Buffer) => stderr?.push(chunk))

    let timedOut = false
    let aborted = false
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let settled = false

    const killGroup = () => {
      signalGroup(child.pid, "SIGTERM")
      setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS).unref()
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, options.timeoutMs)
    timer.unref()
    const onAbort = () => {
      aborted = true
      killGroup()
    }
    options.signal?.addEventListener("abort", onAbort, { once: true })

    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
      child.stdout?.destroy()
      child.stderr?.destroy()
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        aborted,
        stdout: stdout?.finish(),
        stderr: stderr?.finish(),
      })
    }

    child.on("error", (error: NodeJS.ErrnoException) => {
      if (settled || child.pid !== undefined) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
      reject(startError(options.command, error))
    })
    child.on("exit", (code, signal) => {
      exit = { code, signal }
      setTimeout(finish, EXIT_DRAIN_MS).unref()
    })
    child.on("close", (code, signal) => {
      exit ??= { code, signal }
      finish()
    })
  })
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    // negative pid: the whole process group the detached child leads, so its children die too
    process.kill(-pid, signal)
  } catch {
    // the group is already gone
  }
}

function startError(command: string, error: NodeJS.ErrnoException): PerstackError {
  if (error.code === "ENOENT") {
    return new PerstackError(
      "exec.commandNotFound",
      `Command "${command}" was not found: it is not on PATH, or the path does not exist. exec runs a program directly, without a shell; to use shell syntax run "bash" with args ["-c", "..."].`,
      { cause: error },
    )
  }
  if (error.code === "EACCES") {
    return new PerstackError("exec.notExecutable", `Command "${command}" is not executable.`, {
      cause: error,
    })
  }
  return new PerstackError("exec.cannotStart", `Command "${command}" could not start: ${error.message}`, {
    cause: error,
  })
}
