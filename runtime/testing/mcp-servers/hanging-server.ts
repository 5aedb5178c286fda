// Test MCP server over stdio that hangs: `hang` never answers, and it outlives a closed stdin.
// `--ignore-sigterm`: SIGTERM does nothing either (only SIGKILL stops it). `--silent`: never answers anything,
// not even the MCP handshake.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"

// Keeps the process alive after stdin closes, as a stuck server would be.
setInterval(() => undefined, 60_000)
if (process.argv.includes("--ignore-sigterm")) process.on("SIGTERM", () => undefined)

if (process.argv.includes("--silent")) {
  process.stdin.resume()
} else {
  const server = new McpServer({ name: "hanging-server", version: "0.0.1" })
  server.registerTool("ok", { description: "Answers at once" }, async () => ({
    content: [{ type: "text" as const, text: `ok from ${process.pid}` }],
  }))
  server.registerTool("hang", { description: "Never answers" }, () => new Promise<never>(() => undefined))
  await server.connect(new StdioServerTransport())
}
