// The base skill as an MCP server, and an in-process client linked to it. Imported lazily: it loads the MCP SDK.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { BASE_SKILL_NAME } from "../../protocol/config/skill.ts"
import { RUNTIME_VERSION } from "../../version.ts"
import { type BaseToolContext, type BaseToolResult, baseToolResultSchema } from "./base-tool.ts"
import { BASE_TOOLS } from "./base-tools.ts"
import { EXEC_MAX_TIMEOUT_MS } from "./tools/exec.ts"

/**
 * The MCP client gives up on a request after 60 s by default, before a long exec would finish: allow exec's longest
 * timeout plus its kill grace. Cancelling still works through the signal.
 */
const CALL_TIMEOUT_MS = EXEC_MAX_TIMEOUT_MS + 30_000

export function createBaseSkillServer(context: BaseToolContext): McpServer {
  const server = new McpServer({ name: BASE_SKILL_NAME, version: RUNTIME_VERSION })
  for (const tool of BASE_TOOLS) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: tool.inputSchema },
      // The client cancelling the request (extra.signal) stops an exec as the run's own signal does.
      (args, extra) => tool.run(args, { ...context, signal: combineSignals(context.signal, extra.signal) }),
    )
  }
  return server
}

export type BaseSkillConnection = {
  client: Client
  /**
   * Calls a tool with a request timeout long enough for any exec; the signal cancels the request and so stops the
   * tool. A tool's own failure comes back as an `isError` result; this rejects only if the connection fails.
   */
  callTool(
    name: string,
    args: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<BaseToolResult>
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function connectBaseSkill(context: BaseToolContext): Promise<BaseSkillConnection> {
  const server = createBaseSkillServer(context)
  const client = new Client({ name: "perstack-runtime", version: RUNTIME_VERSION })
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair()
  await server.connect(serverTransport)
  await client.connect(clientTransport)
  const close = async () => {
    await client.close()
    await server.close()
  }
  const callTool = async (
    name: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ) => {
    const result = await client.callTool({ name, arguments: args }, undefined, {
      signal: options.signal,
      timeout: CALL_TIMEOUT_MS,
    })
    return baseToolResultSchema.parse(result)
  }
  return { client, callTool, close, [Symbol.asyncDispose]: close }
}

function combineSignals(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a === undefined ? b : AbortSignal.any([a, b])
}
