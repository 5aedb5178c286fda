// `perstack run --env NAME`: the variable reaches every sandbox of the job, where exec and MCP servers see it.
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { fixtureServerPath } from "../../runtime/testing/mcp-servers/stdio-fixture.ts"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText } from "../testing/job-harness.ts"

const EXPERTS = `[experts."lead"]
instruction = "Lead."
delegates = ["helper"]

[experts."helper"]
instruction = "Help."

[experts."helper".skills."docs"]
type = "mcpStdioSkill"
command = "${process.execPath}"
args = ["${fixtureServerPath("tools")}"]
`

const printenv = (id: string, name: string) => ({
  toolCalls: [{ id, name: "exec", arguments: { command: "printenv", args: [name] } }],
})

/** The text of every tool result the job's runs resolved, in order. */
function toolOutputs(events: PerstackEvent[]): string[] {
  return events.flatMap((event) =>
    event.type === "resolveToolResults"
      ? event.toolResults.map((result) => JSON.stringify(result.result))
      : [],
  )
}

async function withWorkspace(test: (dir: string) => Promise<void>) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-env-")))
  try {
    await test(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe("perstack run --env", () => {
  it("passes the named variables (from the env files too) into every sandbox, and no others", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({
        lead: [
          printenv("a", "GREETING"),
          printenv("b", "NOT_FORWARDED"),
          { toolCalls: [{ id: "d", name: "delegate__helper", arguments: { query: "check" } }] },
          { text: "done" },
        ],
        helper: [
          printenv("c", "FROM_FILE"),
          { toolCalls: [{ id: "e", name: "docs__environment", arguments: {} }] },
          { text: "checked" },
        ],
      })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      await writeFile(path.join(dir, "secrets.env"), "FROM_FILE=from the file\n")
      const result = await perstackCli(
        dir,
        ["run", "lead", "go", "--env", "GREETING", "--env", "FROM_FILE", "--env-path", "secrets.env"],
        { OPENAI_API_KEY: "sk-test", GREETING: "hello from the host", NOT_FORWARDED: "host only" },
      )
      expect(result.stderr).toMatch(/completed/)
      expect(result.code).toBe(0)
      const [greeting, notForwarded, fromFile, serverEnv] = toolOutputs(result.events())
      expect(greeting).toContain("hello from the host")
      expect(notForwarded).not.toContain("host only")
      expect(fromFile).toContain("from the file")
      // The helper's MCP server got them too, and still nothing else of the host's.
      expect(serverEnv).toContain("GREETING")
      expect(serverEnv).not.toContain("NOT_FORWARDED")
    }))

  it("refuses a protected name, or the provider's key while the gateway keeps it out, before anything runs", () =>
    withWorkspace(async (dir) => {
      await writeFile(path.join(dir, "perstack.toml"), configText("http://127.0.0.1:9/v1", EXPERTS))
      const env = { OPENAI_API_KEY: "sk-test" }
      const preload = await perstackCli(dir, ["run", "lead", "go", "--env", "LD_PRELOAD"], env)
      expect(preload.code).toBe(2)
      expect(preload.stderr).toContain("--env LD_PRELOAD: changes which programs and libraries run")
      const key = await perstackCli(dir, ["run", "lead", "go", "--gateway", "--env", "OPENAI_API_KEY"], env)
      expect(key.code).toBe(2)
      expect(key.stderr).toContain("--env OPENAI_API_KEY: holds the provider's key")
      const bad = await perstackCli(dir, ["run", "lead", "go", "--env", "NOT-A-NAME"], env)
      expect(bad.stderr).toContain("--env NOT-A-NAME: is not an environment variable name")
      expect(preload.stdout + key.stdout + bad.stdout).toBe("")
    }))
})
