// Test MCP server over stdio whose tool names clash with another's: run it twice (`--label alpha`,
// `--label beta`) and both offer `search` and `lookup`.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const labelFlag = process.argv.indexOf("--label")
const label = labelFlag === -1 ? "unlabelled" : (process.argv[labelFlag + 1] ?? "unlabelled")

const server = new McpServer({ name: `clashing-${label}`, version: "0.0.1" })
server.registerTool(
  "search",
  { description: `Searches ${label}`, inputSchema: { query: z.string() } },
  async ({ query }) => ({
    content: [{ type: "text" as const, text: `${label}: ${query}` }],
  }),
)
server.registerTool(
  "lookup",
  { description: `Looks up in ${label}`, inputSchema: { id: z.string() } },
  async ({ id }) => ({
    content: [{ type: "text" as const, text: `${label} #${id}` }],
  }),
)
await server.connect(new StdioServerTransport())
