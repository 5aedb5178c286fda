import { describe, expect, it } from "vitest"
import type { RunSpecExpert } from "../protocol/run-spec.ts"
import { buildInstruction } from "./instruction.ts"

const expert: RunSpecExpert = {
  key: "news-researcher",
  name: "news-researcher",
  version: "1.0.0",
  instruction: "Research the news.",
  tags: [],
  skills: {
    "web-search": {
      type: "mcpStdioSkill",
      command: "npx",
      packageName: "exa-mcp-server",
      args: [],
      requiredEnv: ["EXA_API_KEY"],
      pick: [],
      omit: [],
      lazyInit: false,
      description: "Web search through Exa",
      rule: "Cite every source URL.",
    },
    archive: {
      type: "mcpHttpSkill",
      endpoint: "https://archive.example.com/mcp",
      allowPrivateEndpoint: false,
      requiredEnv: [],
      pick: [],
      omit: [],
      lazyInit: false,
      description: "The newspaper archive",
    },
    silent: {
      type: "mcpHttpSkill",
      endpoint: "https://silent.example.com/mcp",
      allowPrivateEndpoint: false,
      requiredEnv: [],
      pick: [],
      omit: [],
      lazyInit: false,
    },
    ask: { type: "interactiveSkill", rule: "Ask before publishing.", tools: {} },
  },
}

const skillsSection = (isDelegated: boolean) =>
  buildInstruction({ expert, delegates: [], workspace: "/ws", now: 0, isDelegated }).split("# Skills\n\n")[1]

describe("the system prompt's skills", () => {
  it("gives each skill's description and rule under its name", () => {
    expect(skillsSection(false)).toBe(
      [
        "## web-search\n\nWeb search through Exa\n\nCite every source URL.",
        "## archive\n\nThe newspaper archive",
        "## ask\n\nAsk before publishing.",
      ].join("\n\n"),
    )
  })

  it("leaves out interactive skills for a delegate, which has no interactive tools", () => {
    expect(skillsSection(true)).not.toContain("## ask")
  })
})
