// Test MCP server over stdio, well behaved: a search tool, and tools that show its environment and process id.
// `node tools-server.ts [--name NAME]`; exits when its stdin closes.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const nameFlag = process.argv.indexOf("--name")
const name = nameFlag === -1 ? "tools-server" : (process.argv[nameFlag + 1] ?? "tools-server")
const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] })

const server = new McpServer({ name, version: "1.4.2" })
server.registerTool(
  "search",
  { description: "Searches the test corpus", inputSchema: { query: z.string() } },
  async ({ query }) => text(`${name} found 3 results for "${query}"`),
)
server.registerTool("environment", { description: "Its whole environment, as JSON" }, async () =>
  text(JSON.stringify(process.env)),
)
server.registerTool("pid", { description: "Its process id" }, async () => text(String(process.pid)))
server.registerTool("refuse", { description: "Always fails" }, async () => ({
  content: [{ type: "text" as const, text: "refused on purpose" }],
  isError: true,
}))
await server.connect(new StdioServerTransport())
