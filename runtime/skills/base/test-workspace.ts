// Test support: a throw-away workspace (with a sibling folder outside it) and an MCP client connected to the base skill.
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { BaseToolContext, BaseToolResult } from "./base-tool.ts"
import { findBaseTool } from "./base-tools.ts"
import { TodoStore } from "./todo-store.ts"

export type TestWorkspace = {
  /** the workspace, realpath'd */
  workspace: string
  /** a folder next to the workspace, for escape attempts */
  outside: string
  context: BaseToolContext
  cleanup(): Promise<void>
}

export async function createTestWorkspace(
  env: Record<string, string | undefined> = {},
): Promise<TestWorkspace> {
  const root = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-base-")))
  const workspace = path.join(root, "workspace")
  const outside = path.join(root, "outside")
  await mkdir(workspace)
  await mkdir(outside)
  return {
    workspace,
    outside,
    context: { workspace, todos: new TodoStore(), env: { PATH: process.env.PATH, ...env } },
    cleanup: () => rm(root, { recursive: true, force: true }),
  }
}

export type ParsedCall = {
  isError: boolean
  /** the first content item's text, parsed as JSON */
  json: Record<string, unknown>
  content: Array<Record<string, unknown>>
}

/** calls a tool through the MCP client */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ParsedCall> {
  const result = await client.callTool({ name, arguments: args })
  return parseResult({
    content: result.content as BaseToolResult["content"],
    isError: result.isError === true,
  })
}

/** runs a tool of the table directly, without the server */
export async function runTool(name: string, args: unknown, context: BaseToolContext): Promise<ParsedCall> {
  const tool = findBaseTool(name)
  if (tool === undefined) throw new Error(`no base tool "${name}"`)
  return parseResult(await tool.run(args, context))
}

export function parseResult(result: BaseToolResult): ParsedCall {
  const content = result.content as Array<Record<string, unknown>>
  const text = content[0]?.type === "text" ? String(content[0].text) : "null"
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = { text }
  }
  return { isError: result.isError === true, json, content }
}
