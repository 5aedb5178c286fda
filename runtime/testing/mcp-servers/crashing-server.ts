// Test MCP server over stdio that dies in the middle of a tool call (`crash`), or answers with more than an MCP
// message may hold (`huge`), and answers `ok` until then.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "crashing-server", version: "0.0.1" })
server.registerTool("ok", { description: "Answers with its process id" }, async () => ({
  content: [{ type: "text" as const, text: `ok from ${process.pid}` }],
}))
server.registerTool("crash", { description: "Exits during the call" }, async () => {
  process.stderr.write("crashing-server: giving up\n")
  process.exit(3)
})
server.registerTool(
  "huge",
  { description: "Answers with a text of that many megabytes", inputSchema: { megabytes: z.number() } },
  async ({ megabytes }) => ({
    content: [{ type: "text" as const, text: "x".repeat(megabytes * 1024 * 1024) }],
  }),
)
await server.connect(new StdioServerTransport())
