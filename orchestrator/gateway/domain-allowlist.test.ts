import { describe, expect, it } from "vitest"
import { expertConfigSchema } from "../../runtime/protocol/config/expert.ts"
import { domainAllowed, egressDomains } from "./domain-allowlist.ts"

describe("domainAllowed", () => {
  it("matches a name exactly, whatever its case or trailing dot", () => {
    expect(domainAllowed(["api.example.com"], "API.Example.com.")).toBe(true)
    expect(domainAllowed(["api.example.com"], "example.com")).toBe(false)
    expect(domainAllowed(["api.example.com"], "evil-api.example.com")).toBe(false)
    expect(domainAllowed(["example.com"], "example.com.evil.test")).toBe(false)
  })

  it("lets *.example.com cover every name under it, not example.com itself nor look-alikes", () => {
    const wild = ["*.example.com"]
    expect(domainAllowed(wild, "a.example.com")).toBe(true)
    expect(domainAllowed(wild, "a.b.example.com")).toBe(true)
    expect(domainAllowed(wild, "example.com")).toBe(false)
    expect(domainAllowed(wild, "badexample.com")).toBe(false)
    expect(domainAllowed([], "example.com")).toBe(false)
  })
})

describe("egressDomains", () => {
  it("collects the skills' allowedDomains and remote endpoints' hosts, sorted, once each", () => {
    const expert = expertConfigSchema.parse({
      instruction: "x",
      skills: {
        search: {
          type: "mcpStdioSkill",
          command: "npx",
          packageName: "s",
          allowedDomains: ["API.b.com", "*.a.com"],
        },
        remote: {
          type: "mcpHttpSkill",
          endpoint: "https://mcp.c.com/mcp",
          allowedDomains: ["api.b.com"],
        },
        ask: { type: "interactiveSkill", tools: {} },
      },
    })
    expect(egressDomains(expert)).toEqual(["*.a.com", "api.b.com", "mcp.c.com", "registry.npmjs.org"])
    expect(egressDomains(expertConfigSchema.parse({ instruction: "x" }))).toEqual([])
  })

  it("lets a skill run with npx or uvx reach its package registry, as the original's proxy did", () => {
    const expert = expertConfigSchema.parse({
      instruction: "x",
      skills: {
        web: { type: "mcpStdioSkill", command: "npx", packageName: "exa-mcp-server" },
        py: { type: "mcpStdioSkill", command: "uvx", packageName: "mcp-server-fetch" },
        local: { type: "mcpStdioSkill", command: "node", args: ["server.js"] },
      },
    })
    expect(egressDomains(expert)).toEqual(["files.pythonhosted.org", "pypi.org", "registry.npmjs.org"])
  })
})
