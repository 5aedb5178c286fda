// Test MCP server over stdio that writes to stderr: lines with CRLF and multibyte text at start, more per call,
// and one line far longer than any cap.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

// The multibyte line goes out in two writes that split a character, as a pipe may deliver it.
const accented = Buffer.from("données prêtes ✓\n", "utf8")
process.stderr.write("stderr-server: starting\r\n")
process.stderr.write(accented.subarray(0, 3))
process.stderr.write(accented.subarray(3))

const server = new McpServer({ name: "stderr-server", version: "0.0.1" })
server.registerTool(
  "log",
  {
    description: "Writes lines to stderr",
    inputSchema: { lines: z.number().int(), long: z.boolean().optional() },
  },
  async ({ lines, long }) => {
    for (let i = 1; i <= lines; i++) process.stderr.write(`line ${i}\n`)
    if (long) process.stderr.write(`${"x".repeat(100_000)}\n`)
    return { content: [{ type: "text" as const, text: `wrote ${lines} lines` }] }
  },
)
await server.connect(new StdioServerTransport())
