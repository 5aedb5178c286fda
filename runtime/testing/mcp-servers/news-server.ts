// Test MCP server over stdio standing in for exa-mcp-server (the seeds' news-researcher): `web_search_exa` works
// only with EXA_API_KEY set, and `environment` shows every variable it was given.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "exa-search-server", version: "3.1.0" })
server.registerTool(
  "web_search_exa",
  {
    description: "Search the web",
    inputSchema: { query: z.string(), numResults: z.number().int().optional() },
  },
  async ({ query }) => {
    if (!process.env.EXA_API_KEY) {
      return { content: [{ type: "text" as const, text: "EXA_API_KEY is not set" }], isError: true }
    }
    const results = [
      { title: `${query}: Seed round for Acme AI`, url: "https://news.example.com/acme" },
      { title: `${query}: Beta Labs raises Series B`, url: "https://news.example.com/beta" },
    ]
    return { content: [{ type: "text" as const, text: JSON.stringify({ results }) }] }
  },
)
server.registerTool("environment", { description: "Its whole environment, as JSON" }, async () => ({
  content: [{ type: "text" as const, text: JSON.stringify(process.env) }],
}))
await server.connect(new StdioServerTransport())
