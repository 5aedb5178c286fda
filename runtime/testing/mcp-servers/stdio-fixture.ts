// The test MCP servers as mcpStdioSkill tables: run with this Node, so no PATH lookup is involved.
import path from "node:path"
import type { McpStdioSkill } from "../../protocol/config/skill.ts"

export type FixtureServer = "tools" | "crashing" | "hanging" | "stderr" | "clashing" | "news"

export const fixtureServerPath = (name: FixtureServer) => path.join(import.meta.dirname, `${name}-server.ts`)

export function fixtureSkill(
  name: FixtureServer,
  options: { args?: string[]; requiredEnv?: string[]; pick?: string[]; omit?: string[]; rule?: string } = {},
): McpStdioSkill {
  return {
    type: "mcpStdioSkill",
    command: process.execPath,
    args: [fixtureServerPath(name), ...(options.args ?? [])],
    requiredEnv: options.requiredEnv ?? [],
    pick: options.pick ?? [],
    omit: options.omit ?? [],
    lazyInit: false,
    ...(options.rule !== undefined ? { rule: options.rule } : {}),
  }
}
