// The life of one MCP skill in a run: started before the first LLM request (or, with a lock, at its first tool
// call), restarted on the next call after it died or hung, and stopped when the run ends. A call never throws:
// every failure becomes an error result the model reads.
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { PerstackError } from "../../errors/perstack-error.ts"
import type { LockedTool } from "../../protocol/lockfile.ts"
import {
  type CallOutcome,
  connectMcpServer,
  type McpServerConnection,
  type McpTarget,
} from "./connect-server.ts"

export interface McpTimeouts {
  /** handshake, and tool listing, each */
  startMs: number
  /** one tool call */
  callMs: number
  /** each wait of a server process's stop sequence (stdin closed, SIGTERM, SIGKILL) */
  stopGraceMs: number
}

export const DEFAULT_MCP_TIMEOUTS: McpTimeouts = { startMs: 60_000, callMs: 60_000, stopGraceMs: 2_000 }

/** skillConnected's payload; which durations are known depends on the skill (the base skill has only one) */
export interface SkillConnectedInfo {
  serverInfo?: { name: string; version: string }
  spawnDurationMs?: number
  handshakeDurationMs?: number
  connectDurationMs?: number
  toolDiscoveryDurationMs?: number
  totalDurationMs?: number
}

export interface McpSkillEvents {
  onStarting?(skillName: string, launch: { command: string; args: string[] }): void
  onConnected?(skillName: string, info: SkillConnectedInfo): void
  onStderr?(skillName: string, line: string): void
  onDisconnected?(skillName: string): void
}

export interface McpSkillOptions {
  skillName: string
  target: McpTarget
  /** what skillStarting shows: the command line, or the transport and endpoint */
  launch: { command: string; args: string[] }
  timeouts: McpTimeouts
  events: McpSkillEvents
}

/** a server that keeps dying is not started more than this many times in one run */
const MAX_STARTS = 4
/** per server process; the rest are counted, not shown */
const MAX_STDERR_LINES = 1_000
/** the end of a server's stderr that a failed start reports: usually where it says why */
const STDERR_TAIL_LINES = 10
const STDERR_TAIL_CHARS = 2_000

/** The last lines of a process's stderr, for the message of a start that failed. */
function stderrTail(lines: readonly string[]): string {
  const text = lines.join("\n")
  return text.length <= STDERR_TAIL_CHARS ? text : `…${text.slice(-STDERR_TAIL_CHARS)}`
}

const errorOutcome = (error: string, message: string): CallOutcome => ({
  content: [{ type: "text", text: JSON.stringify({ error, message }) }],
  isError: true,
})

export class McpSkill {
  private current?: Promise<McpServerConnection>
  /** `current` once it has connected */
  private connected?: McpServerConnection
  private starts = 0
  private closed = false
  /** why each lost connection went away; a connection in here has had its skillDisconnected */
  private readonly gone = new WeakMap<McpServerConnection, string>()

  private readonly options: McpSkillOptions

  private constructor(options: McpSkillOptions) {
    this.options = options
  }

  /** Starts the server now and lists its tools (no lock). Throws `skill.startFailed` if it cannot. */
  static async start(
    options: McpSkillOptions,
    signal?: AbortSignal,
  ): Promise<{ skill: McpSkill; tools: LockedTool[] }> {
    const skill = new McpSkill(options)
    const tools = await skill.startWithTools(signal)
    return { skill, tools }
  }

  /** Tools come from the lock; the server starts at the first call. */
  static lazy(options: McpSkillOptions): McpSkill {
    return new McpSkill(options)
  }

  async call(toolName: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallOutcome> {
    const { skillName, timeouts } = this.options
    if (this.closed)
      return errorOutcome("SkillStopped", `skill "${skillName}" has stopped: the run is ending`)
    let connection: McpServerConnection
    try {
      connection = await this.connection(signal)
    } catch (error) {
      return errorOutcome("SkillUnavailable", `skill "${skillName}" could not start: ${messageOf(error)}`)
    }
    try {
      return await connection.callTool(toolName, args, { timeoutMs: timeouts.callMs, signal })
    } catch (error) {
      if (signal?.aborted) return errorOutcome("Cancelled", "the run was stopped during the tool call")
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        // A server that does not answer in time may never answer: replace it.
        await this.drop(connection)
        return errorOutcome(
          "ToolTimeout",
          `${toolName} did not answer within ${timeouts.callMs / 1000} s; skill "${skillName}" will be restarted on its next call`,
        )
      }
      if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) {
        // The server answered with an error: it is still fine.
        return errorOutcome("McpError", messageOf(error))
      }
      const why = this.gone.get(connection) ?? messageOf(error)
      await this.drop(connection)
      return errorOutcome(
        "SkillConnectionLost",
        `skill "${skillName}" stopped during the call (${why}); it will be restarted on its next call`,
      )
    }
  }

  async close(): Promise<void> {
    this.closed = true
    const current = this.current
    this.current = undefined
    this.connected = undefined
    const connection = await current?.catch(() => undefined)
    if (connection) {
      await connection.close()
      this.disconnected(connection, "the run ended")
    }
  }

  private async startWithTools(signal?: AbortSignal): Promise<LockedTool[]> {
    const started = performance.now()
    const connection = await this.connection(signal, { listing: true })
    const listed = performance.now()
    return connection.listTools({ timeoutMs: this.options.timeouts.startMs, signal }).then(
      (tools) => {
        this.options.events.onConnected?.(this.options.skillName, {
          ...this.connectedInfo(connection, started),
          toolDiscoveryDurationMs: Math.round(performance.now() - listed),
          totalDurationMs: Math.round(performance.now() - started),
        })
        return tools
      },
      async (error: unknown) => {
        await this.close()
        throw error
      },
    )
  }

  private connection(signal?: AbortSignal, mode: { listing?: boolean } = {}): Promise<McpServerConnection> {
    if (this.current) return this.current
    const { skillName, events, timeouts } = this.options
    if (this.starts >= MAX_STARTS) {
      return Promise.reject(
        new Error(`its server was started ${this.starts} times in this run and is not started again`),
      )
    }
    this.starts++
    let stderrLines = 0
    const tail: string[] = []
    const started = performance.now()
    events.onStarting?.(skillName, this.options.launch)
    const attempt = connectMcpServer({
      target: this.options.target,
      timeoutMs: timeouts.startMs,
      stopGraceMs: timeouts.stopGraceMs,
      signal,
      onStderrLine: (line) => {
        tail.push(line)
        if (tail.length > STDERR_TAIL_LINES) tail.shift()
        stderrLines++
        if (stderrLines <= MAX_STDERR_LINES) events.onStderr?.(skillName, line)
        else if (stderrLines === MAX_STDERR_LINES + 1) {
          events.onStderr?.(
            skillName,
            `(perstack: more than ${MAX_STDERR_LINES} lines; the rest are not shown)`,
          )
        }
      },
    })
      .catch((error: unknown) => {
        // Why a server did not start is most often the last thing it printed: the message carries it.
        if (!(error instanceof PerstackError) || tail.length === 0) throw error
        throw new PerstackError(error.code, `${error.message}; the end of its stderr:\n${stderrTail(tail)}`, {
          cause: error.cause,
        })
      })
      .then((connection) => {
        if (this.current === attempt) this.connected = connection
        connection.onLost((reason) => {
          this.forget(connection)
          this.disconnected(connection, reason)
        })
        // Started for a call (from the lock): connected now. Started for its tool list: once listed.
        if (!mode.listing) events.onConnected?.(skillName, this.connectedInfo(connection, started))
        return connection
      })
    this.current = attempt
    // A failed start is retried by the next call.
    attempt.catch(() => {
      if (this.current === attempt) this.current = undefined
    })
    return attempt
  }

  /** Closes a connection that failed a call; the next call starts a new one. */
  private async drop(connection: McpServerConnection): Promise<void> {
    this.forget(connection)
    await connection.close()
    this.disconnected(connection, "stopped after a failed call")
  }

  private forget(connection: McpServerConnection): void {
    if (this.connected !== connection) return
    this.connected = undefined
    this.current = undefined
  }

  /** skillDisconnected, once per connection */
  private disconnected(connection: McpServerConnection, reason: string): void {
    if (this.gone.has(connection)) return
    this.gone.set(connection, reason)
    this.options.events.onDisconnected?.(this.options.skillName)
  }

  private connectedInfo(connection: McpServerConnection, started: number): SkillConnectedInfo {
    return {
      ...(connection.serverInfo ? { serverInfo: connection.serverInfo } : {}),
      ...connection.timings,
      totalDurationMs: Math.round(performance.now() - started),
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
