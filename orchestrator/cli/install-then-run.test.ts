// The seeds' workflow through the CLI: `perstack install`, then `perstack run` starts the MCP server only when called.
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { fixtureServerPath } from "../../runtime/testing/mcp-servers/stdio-fixture.ts"
import { type CliResult, perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText } from "../testing/job-harness.ts"

const perstack = (cwd: string, argv: string[]) =>
  perstackCli(cwd, argv, { OPENAI_API_KEY: "sk-install-test", EXA_API_KEY: "exa-secret" })
const types = (result: CliResult) => result.events().map((event) => event.type)

describe("perstack install, then perstack run", () => {
  it("runs from the lock: the server starts at its first call, and a changed perstack.toml is reported, not used", async () => {
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-install-")))
    try {
      await using llm = await startExpertScript({
        "news-researcher": [
          { toolCalls: [{ name: "web-search__web_search_exa", arguments: { query: "AI funding" } }] },
          { text: "Acme AI raised a seed round." },
          { text: "no search needed" },
        ],
      })
      const toml = configText(
        llm.url,
        `[experts."news-researcher"]
instruction = "Research news."

[experts."news-researcher".skills."web-search"]
type = "mcpStdioSkill"
command = "${process.execPath}"
args = ["${fixtureServerPath("news")}"]
requiredEnv = ["EXA_API_KEY"]
`,
      )
      await writeFile(path.join(dir, "perstack.toml"), toml)

      const install = await perstack(dir, ["install"])
      expect(install.stderr).toBe("")
      expect(install.code).toBe(0)
      expect(install.stdout).toContain("perstack.lock: written, 1 server, 2 tools")

      const run = await perstack(dir, ["run", "news-researcher", "AI startup funding this week"])
      expect(run.code).toBe(0)
      const ran = types(run)
      // Lazy: the first generation happens before the server starts; it starts when the model calls it.
      expect(ran.indexOf("skillStarting")).toBeGreaterThan(ran.indexOf("startGeneration"))
      expect(ran.indexOf("skillStarting")).toBeGreaterThan(ran.indexOf("callTools"))
      expect(ran.indexOf("skillConnected")).toBeLessThan(ran.indexOf("resolveToolResults"))
      expect(run.stderr).not.toContain("warning")

      await writeFile(path.join(dir, "perstack.toml"), `${toml}\n# edited\n`)
      const stale = await perstack(dir, ["run", "news-researcher", "Anything new?"])
      expect(stale.code).toBe(0)
      expect(stale.stderr).toMatch(/perstack: warning: .*perstack\.lock/)
      // Without the lock the server starts before the first generation again.
      const staleTypes = types(stale)
      expect(staleTypes.indexOf("skillConnected")).toBeLessThan(staleTypes.indexOf("startGeneration"))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
