// MCP over a child process's stdin/stdout. Not the SDK's StdioClientTransport, because that one adds variables
// from the runtime's own process.env (LOGNAME, USER, ...) to the server's, inherits stderr by default (the
// sandbox's stderr), and signals only the process it spawned, not what npx started under it.
import { type ChildProcess, spawn } from "node:child_process"
import {
  deserializeMessage,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
  serializeMessage,
} from "@modelcontextprotocol/sdk/shared/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { PerstackError } from "../../errors/perstack-error.ts"
import { LineSplitter } from "./line-splitter.ts"
import { MessageFramer } from "./message-framer.ts"
import { stopProcess } from "./stop-process.ts"

const EXIT_DRAIN_MS = 200

export interface ChildProcessOptions {
  command: string
  args: readonly string[]
  /** the whole environment of the server: nothing is added to it */
  env: Record<string, string>
  cwd: string
  onStderrLine(line: string): void
  /** each wait of the stop sequence (stdin closed, SIGTERM, SIGKILL) */
  stopGraceMs: number
}

/** How the server process ended, for the error a pending call gets; `stopped`: by us, not by itself. */
export type ServerExit = { code: number | null; signal: NodeJS.Signals | null; stopped: boolean }

export class ChildProcessTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /** ms from spawn() to the process running */
  spawnDurationMs?: number
  exit?: ServerExit
  /** why this side closed the channel, when it did (a message over the cap): the server's exit is only a result */
  closeReason?: string

  private child?: ChildProcess
  /** the SDK's cap on one message (10 MB), framed without its ReadBuffer's copying */
  private readonly framer = new MessageFramer(STDIO_DEFAULT_MAX_BUFFER_SIZE)
  private closed = false
  private closing?: Promise<void>
  private finished = false
  /** once close() is done, nothing more is reported: the run's last event may already be out */
  private stderrDetached = false

  private readonly options: ChildProcessOptions

  constructor(options: ChildProcessOptions) {
    this.options = options
  }

  start(): Promise<void> {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      // Its own process group (detached), so stopping it reaches npx's children; stdout is the MCP channel and
      // stderr is captured: neither may reach the sandbox's own stdout/stderr.
      const child = spawn(this.options.command, [...this.options.args], {
        cwd: this.options.cwd,
        env: this.options.env,
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        shell: false,
        windowsHide: true,
      })
      this.child = child
      const stderr = new LineSplitter((line) => {
        if (!this.stderrDetached) this.options.onStderrLine(line)
      })
      child.on("error", (error: NodeJS.ErrnoException) => {
        if (child.pid === undefined) reject(startError(this.options.command, error))
        else this.onerror?.(error)
      })
      child.on("spawn", () => {
        this.spawnDurationMs = Math.round(performance.now() - started)
        resolve()
      })
      child.on("exit", (code, signal) => {
        this.exit = { code, signal, stopped: this.closing !== undefined }
        // Its last stderr lines (often why it died) are still in the pipe: read them before reporting the end,
        // but not for ever (something it left behind may hold the pipe open).
        setTimeout(() => this.finish(), EXIT_DRAIN_MS).unref()
      })
      child.on("close", () => this.finish())
      child.stdin?.on("error", (error) => this.onerror?.(error))
      child.stdout?.on("data", (chunk: Buffer) => {
        if (this.framer.push(chunk, (line) => this.deliver(line))) return
        if (this.closeReason !== undefined) return
        // A line over the cap (10 MB): the channel cannot be trusted any more. Said as the cause, since the
        // server's exit that follows (code 0, once its stdin closes) says nothing about it.
        this.closeReason = `the server sent a message over the ${STDIO_DEFAULT_MAX_BUFFER_SIZE / 1024 / 1024} MB limit of an MCP message, so it was stopped (a tool result too large: have the tool return less, or write it to a file and return its path)`
        this.onerror?.(new Error(this.closeReason))
        void this.close()
      })
      child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk))
      child.stderr?.on("end", () => stderr.end())
    })
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin
    if (!stdin || this.closed || !stdin.writable) {
      return Promise.reject(new Error("the MCP server is not running"))
    }
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve()
      else stdin.once("drain", resolve)
    })
  }

  /** Every caller waits for the same stop sequence (the SDK's client closes its transport on a failed connect too). */
  close(): Promise<void> {
    this.closing ??= this.stop()
    return this.closing
  }

  private async stop(): Promise<void> {
    const child = this.child
    if (child) {
      this.closed = true
      await stopProcess(child, { graceMs: this.options.stopGraceMs })
      this.stderrDetached = true
      child.stdout?.destroy()
      child.stderr?.destroy()
    }
    this.finish()
  }

  private deliver(line: string): void {
    if (line.trim() === "") return
    let message: JSONRPCMessage
    try {
      message = deserializeMessage(line)
    } catch (error) {
      // a line that is not JSON-RPC (a server logging to stdout): reported, then skipped
      this.onerror?.(error as Error)
      return
    }
    this.onmessage?.(message)
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.closed = true
    this.onclose?.()
  }
}

function startError(command: string, error: NodeJS.ErrnoException): PerstackError {
  const reason =
    error.code === "ENOENT"
      ? "not found (not on PATH, or the path does not exist)"
      : error.code === "EACCES"
        ? "not executable"
        : error.message
  return new PerstackError("skill.startFailed", `command "${command}" could not start: ${reason}`, {
    cause: error,
  })
}
