import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { lockfileSchema } from "./lockfile.ts"
import { runSpecSchema } from "./run-spec.ts"

// Frozen: read here, never regenerated. A schema change that breaks it breaks users' committed lockfiles.
const fixture = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "fixtures", "v1", "perstack.lock"), "utf8"),
) as unknown
const runSpec = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "fixtures", "v1", "run-spec.json"), "utf8"),
) as Record<string, unknown>

describe("perstack.lock v1", () => {
  it("reads a stored v1 lockfile, null defaults in tool schemas included", () => {
    const lockfile = lockfileSchema.parse(fixture)
    const skill = lockfile.experts["news-researcher"]?.skills["web-search"]
    expect(skill?.package).toBe("exa-mcp-server@1.2.3")
    expect(skill?.tools[0]?.inputSchema).toMatchObject({ properties: { numResults: { default: null } } })
  })

  it("wants an exact package and a versioned record", () => {
    const withPackage = (pkg: string) =>
      lockfileSchema.safeParse({
        ...(fixture as object),
        experts: { x: { skills: { s: { package: pkg, tools: [] } } } },
      }).success
    expect(withPackage("@scope/pkg@2.0.0")).toBe(true)
    expect(withPackage("exa-mcp-server")).toBe(false)
    expect(lockfileSchema.safeParse({ ...(fixture as object), protocolVersion: 3 }).success).toBe(false)
  })

  it("hands one Expert's entries to a run as RunSpec.skillLocks", () => {
    const lockfile = lockfileSchema.parse(fixture)
    const skillLocks = lockfile.experts["news-researcher"]?.skills
    expect(runSpecSchema.parse({ ...runSpec, skillLocks }).skillLocks).toEqual(skillLocks)
    expect(runSpecSchema.parse(runSpec).skillLocks).toBeUndefined()
  })
})
