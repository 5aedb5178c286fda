// One connection to one MCP server (a process over stdio, or an HTTP endpoint): handshake, tool listing and calls,
// with the time each phase took. Loaded lazily with the MCP SDK: an Expert without MCP skills never pays for it.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { PerstackError } from "../../errors/perstack-error.ts"
import type { LockedTool } from "../../protocol/lockfile.ts"
import { RUNTIME_VERSION } from "../../version.ts"
import type { McpContent } from "../mcp-content.ts"
import { assertPublicEndpoint } from "./endpoint-guard.ts"
import { ChildProcessTransport } from "./stdio-transport.ts"

export type McpTarget =
  | {
      transport: "stdio"
      command: string
      args: readonly string[]
      env: Record<string, string>
      cwd: string
    }
  | { transport: "streamableHttp" | "sse"; url: string; allowPrivateEndpoint: boolean }

export interface ConnectTimings {
  /** stdio only: spawn() until the process runs */
  spawnDurationMs?: number
  /** the MCP initialize exchange */
  handshakeDurationMs: number
  /** spawn (or nothing) plus handshake */
  connectDurationMs: number
}

export interface CallOutcome {
  content: McpContent[]
  isError: boolean
}

export interface McpServerConnection {
  readonly serverInfo?: { name: string; version: string }
  readonly timings: ConnectTimings
  listTools(options: { timeoutMs: number; signal?: AbortSignal }): Promise<LockedTool[]>
  callTool(
    name: string,
    args: Record<string, unknown>,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<CallOutcome>
  /** called once if the server goes away by itself (exits, drops the connection) */
  onLost(listener: (reason: string) => void): void
  close(): Promise<void>
}

export interface ConnectOptions {
  target: McpTarget
  onStderrLine(line: string): void
  /** bound on the handshake */
  timeoutMs: number
  /** each wait of a server process's stop sequence */
  stopGraceMs: number
  signal?: AbortSignal
}

const MAX_TOOL_PAGES = 100

export async function connectMcpServer(options: ConnectOptions): Promise<McpServerConnection> {
  const { target } = options
  let transport: Transport
  let stdio: ChildProcessTransport | undefined
  if (target.transport === "stdio") {
    stdio = new ChildProcessTransport({
      command: target.command,
      args: target.args,
      env: target.env,
      cwd: target.cwd,
      onStderrLine: options.onStderrLine,
      stopGraceMs: options.stopGraceMs,
    })
    transport = stdio
  } else {
    const url = new URL(target.url)
    if (!target.allowPrivateEndpoint) await assertPublicEndpoint(url)
    transport =
      target.transport === "sse" ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url)
  }

  const client = new Client({ name: "perstack-runtime", version: RUNTIME_VERSION }, { capabilities: {} })
  let closing = false
  let lostListener: ((reason: string) => void) | undefined
  let lostReason: string | undefined
  const lost = (reason: string) => {
    if (closing || lostReason !== undefined) return
    lostReason = reason
    lostListener?.(reason)
  }
  // A line on stdout that is not JSON-RPC, a dropped HTTP stream: worth seeing next to the server's stderr.
  client.onerror = (error) => options.onStderrLine(`(perstack: ${error.message.slice(0, 300)})`)
  client.onclose = () => lost(stdio ? exitText(stdio) : "the connection closed")

  const started = performance.now()
  try {
    await client.connect(transport, { timeout: options.timeoutMs, signal: options.signal })
  } catch (error) {
    closing = true
    await client.close().catch(() => undefined)
    throw new PerstackError("skill.startFailed", describeStartFailure(error, stdio, options.timeoutMs), {
      cause: error,
    })
  }
  const connectDurationMs = Math.round(performance.now() - started)
  const spawnDurationMs = stdio?.spawnDurationMs
  const server = client.getServerVersion()

  return {
    serverInfo: server ? { name: server.name, version: server.version } : undefined,
    timings: {
      ...(spawnDurationMs !== undefined ? { spawnDurationMs } : {}),
      handshakeDurationMs: connectDurationMs - (spawnDurationMs ?? 0),
      connectDurationMs,
    },
    async listTools({ timeoutMs, signal }) {
      const tools: LockedTool[] = []
      let cursor: string | undefined
      for (let page = 0; page < MAX_TOOL_PAGES; page++) {
        const result = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs, signal })
        for (const tool of result.tools) {
          tools.push({
            name: tool.name,
            ...(tool.description !== undefined ? { description: tool.description } : {}),
            inputSchema: tool.inputSchema as Record<string, unknown>,
          })
        }
        cursor = result.nextCursor
        if (!cursor) break
      }
      return tools
    },
    async callTool(name, args, { timeoutMs, signal }) {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: timeoutMs,
        signal,
      })
      if ("toolResult" in result && !("content" in result)) {
        return { content: [{ type: "text", text: JSON.stringify(result.toolResult) }], isError: false }
      }
      const content = (result.content ?? []) as McpContent[]
      const structured = result.structuredContent
      return {
        content:
          content.length === 0 && structured !== undefined
            ? [{ type: "text", text: JSON.stringify(structured) }]
            : content,
        isError: result.isError === true,
      }
    },
    onLost(listener) {
      lostListener = listener
      if (lostReason !== undefined) listener(lostReason)
    },
    async close() {
      closing = true
      await client.close().catch(() => undefined)
    },
  }
}

function exitText(stdio: ChildProcessTransport): string {
  if (stdio.closeReason) return stdio.closeReason
  const exit = stdio.exit
  if (!exit) return "the server closed its connection"
  return exit.signal ? `the server was killed by ${exit.signal}` : `the server exited with code ${exit.code}`
}

function describeStartFailure(
  error: unknown,
  stdio: ChildProcessTransport | undefined,
  timeoutMs: number,
): string {
  if (error instanceof PerstackError) return error.message
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    return `the MCP handshake failed: no answer within ${timeoutMs / 1000} s (timed out)`
  }
  const message = error instanceof Error ? error.message : String(error)
  if (stdio?.exit && !stdio.exit.stopped)
    return `${exitText(stdio)} before the MCP handshake finished (${message})`
  return `the MCP handshake failed: ${message}`
}
