// Test MCP server over HTTP on loopback, in the test's own process: Streamable HTTP at /mcp (stateless) and the
// legacy SSE transport at /sse (+ /messages). Its tools are `search` and `whoami` (which transport answered).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { z } from "zod"

export interface HttpMcpServer {
  /** Streamable HTTP endpoint */
  readonly streamableUrl: string
  /** legacy SSE endpoint */
  readonly sseUrl: string
  /** requests received, by path */
  readonly hits: string[]
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

function mcpServer(transport: string): McpServer {
  const server = new McpServer({ name: "http-test-server", version: "2.0.0" })
  server.registerTool(
    "search",
    { description: "Searches over HTTP", inputSchema: { query: z.string() } },
    async ({ query }) => ({ content: [{ type: "text" as const, text: `http found "${query}"` }] }),
  )
  server.registerTool("whoami", { description: "Names the transport" }, async () => ({
    content: [{ type: "text" as const, text: transport }],
  }))
  return server
}

export async function startHttpMcpServer(): Promise<HttpMcpServer> {
  const sse = new Map<string, SSEServerTransport>()
  const sockets = new Set<Socket>()
  const hits: string[] = []

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost")
    hits.push(`${request.method} ${url.pathname}`)
    if (url.pathname === "/mcp" && request.method === "POST") {
      // Stateless: a fresh server and transport per request.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
      const server = mcpServer("streamable-http")
      response.on("close", () => {
        void transport.close()
        void server.close()
      })
      await server.connect(transport)
      await transport.handleRequest(request, response)
      return
    }
    if (url.pathname === "/sse" && request.method === "GET") {
      const transport = new SSEServerTransport("/messages", response)
      sse.set(transport.sessionId, transport)
      response.on("close", () => sse.delete(transport.sessionId))
      await mcpServer("sse").connect(transport)
      return
    }
    if (url.pathname === "/messages" && request.method === "POST") {
      const transport = sse.get(url.searchParams.get("sessionId") ?? "")
      if (transport) {
        await transport.handlePostMessage(request, response)
        return
      }
    }
    // Stateless Streamable HTTP offers no GET stream and no session to DELETE: 405 tells the client so.
    response.writeHead(url.pathname === "/mcp" ? 405 : 404).end()
  }

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500)
      response.end(String(error))
    })
  })
  http.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const { port } = http.address() as AddressInfo
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
  return {
    streamableUrl: `http://127.0.0.1:${port}/mcp`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    hits,
    close,
    [Symbol.asyncDispose]: close,
  }
}
