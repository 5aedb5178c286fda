// The command line of an mcpStdioSkill, and where a lock's exact version goes into it.
import { describe, expect, it } from "vitest"
import type { McpStdioSkill } from "../../protocol/config/skill.ts"
import { npxPackageOf, registryPackageName, stdioLaunch } from "./stdio-launch.ts"

const skill = (fields: Partial<McpStdioSkill>): McpStdioSkill => ({
  type: "mcpStdioSkill",
  command: "npx",
  args: [],
  requiredEnv: [],
  pick: [],
  omit: [],
  lazyInit: false,
  ...fields,
})

describe("stdioLaunch", () => {
  it("runs packageName through npx -y, as the original does", () => {
    expect(stdioLaunch(skill({ packageName: "exa-mcp-server" }))).toEqual({
      command: "npx",
      args: ["-y", "exa-mcp-server"],
    })
  })

  it("adds -y only where npx reads it, before the package", () => {
    expect(stdioLaunch(skill({ args: ["--yes", "pkg"] })).args).toEqual(["--yes", "pkg"])
    expect(stdioLaunch(skill({ args: ["pkg", "-y"] })).args).toEqual(["-y", "pkg", "-y"])
  })

  it("puts the locked version in place of the package, keeping the server's own arguments", () => {
    expect(stdioLaunch(skill({ packageName: "exa-mcp-server" }), "exa-mcp-server@1.2.3").args).toEqual([
      "-y",
      "exa-mcp-server@1.2.3",
    ])
    expect(
      stdioLaunch(skill({ args: ["-y", "@scope/srv@^2", "--port", "1"] }), "@scope/srv@2.4.0").args,
    ).toEqual(["-y", "@scope/srv@2.4.0", "--port", "1"])
    expect(
      stdioLaunch(skill({ args: ["--registry", "https://r.example", "pkg"] }), "pkg@1.0.0").args,
    ).toEqual(["-y", "--registry", "https://r.example", "pkg@1.0.0"])
  })

  it("leaves other commands as written", () => {
    const local = skill({ command: "/opt/server", args: ["--stdio"] })
    expect(stdioLaunch(local, "ignored@1.0.0")).toEqual({ command: "/opt/server", args: ["--stdio"] })
    expect(npxPackageOf(stdioLaunch(local))).toBeUndefined()
  })

  it("pins only registry packages", () => {
    expect(registryPackageName("exa-mcp-server")).toBe("exa-mcp-server")
    expect(registryPackageName("@scope/pkg@latest")).toBe("@scope/pkg")
    for (const spec of ["./server.tgz", "github:org/repo", "https://x.example/p.tgz", "file:../srv"]) {
      expect(registryPackageName(spec)).toBeUndefined()
    }
    expect(npxPackageOf({ command: "npx", args: ["-y", "-p", "a", "b"] })).toBeUndefined()
  })
})
