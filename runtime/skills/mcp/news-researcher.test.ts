// The seeds' news-researcher, end to end through the runtime: an Expert whose MCP stdio skill needs EXA_API_KEY,
// against a local stand-in for exa-mcp-server. The server sees that variable and the pass-through list, nothing else.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { parse } from "smol-toml"
import { describe, expect, it } from "vitest"
import { perstackConfigSchema } from "../../protocol/config/perstack-toml.ts"
import { fixtureServerPath } from "../../testing/mcp-servers/stdio-fixture.ts"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../../testing/run-harness.ts"
import { buildRunSpec } from "../../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../testing/scripted-llm/scripted-llm-server.ts"
import { EXEC_PASSTHROUGH_ENV } from "../base/exec-env.ts"

const example = path.resolve(import.meta.dirname, "../../../examples/news-researcher/perstack.toml")

/** The example as written, with `npx exa-mcp-server` swapped for the local stand-in (no network in tests). */
async function newsResearcher() {
  const config = perstackConfigSchema.parse(parse(await readFile(example, "utf8")))
  const expert = config.experts["news-researcher"]
  const skill = expert?.skills["web-search"]
  if (!expert || skill?.type !== "mcpStdioSkill") throw new Error("the example changed")
  expect(skill.requiredEnv).toEqual(["EXA_API_KEY"])
  const { packageName: _, ...rest } = skill
  return {
    ...expert,
    skills: { "web-search": { ...rest, command: process.execPath, args: [fixtureServerPath("news")] } },
  }
}

describe("the seeds' news-researcher", () => {
  it("searches through its MCP skill, writes the report, and the server sees only EXA_API_KEY", async () => {
    await using ws = await makeWorkspace()
    const expert = await newsResearcher()
    const query = "AI startup funding this week"
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { id: "search", name: "web-search__web_search_exa", arguments: { query, numResults: 2 } },
            { id: "env", name: "web-search__environment", arguments: {} },
          ],
        },
        {
          toolCalls: [
            {
              name: "writeTextFile",
              arguments: {
                path: "reports/news.md",
                text: "# News\n- Acme AI: https://news.example.com/acme\n",
              },
            },
          ],
        },
        { toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
        { text: "Report saved to ./reports/news.md" },
      ],
    })
    // The sandbox's environment: the key the server needs, next to secrets it must never see.
    const sandboxEnv = {
      PATH: process.env.PATH ?? "/usr/bin",
      HOME: "/home/researcher",
      LANG: "C.UTF-8",
      EXA_API_KEY: "exa-key-123",
      ANTHROPIC_API_KEY: "sk-ant-secret",
      PERSTACK_API_KEY: "psk-secret",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      NODE_OPTIONS: "--max-old-space-size=64",
      LOGNAME: "researcher",
    }
    const result = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: {
          key: "news-researcher",
          name: "news-researcher",
          instruction: expert.instruction,
          description: expert.description,
          skills: expert.skills,
        },
        input: { type: "query", text: query },
      }),
      { env: sandboxEnv },
    )

    expect(result.terminal).toMatchObject({ type: "completeRun", text: "Report saved to ./reports/news.md" })
    expect(await readFile(path.join(ws.dir, "reports/news.md"), "utf8")).toContain(
      "https://news.example.com/acme",
    )
    const [resolved] = eventsOf(result, "resolveToolResults")
    const text = (index: number) => {
      const part = resolved?.toolResults[index]?.result[0]
      return part?.type === "textPart" ? part.text : ""
    }
    expect(resolved?.toolResults[0]?.isError).toBeFalsy()
    expect(JSON.parse(text(0)).results[0].url).toBe("https://news.example.com/acme")

    const serverEnv = JSON.parse(text(1)) as Record<string, string>
    const allowed = new Set([...EXEC_PASSTHROUGH_ENV, "EXA_API_KEY"])
    expect(Object.keys(serverEnv).filter((name) => !allowed.has(name))).toEqual([])
    expect(serverEnv).toEqual({
      PATH: sandboxEnv.PATH,
      HOME: "/home/researcher",
      LANG: "C.UTF-8",
      EXA_API_KEY: "exa-key-123",
    })
    // The provider key the harness runs with (OPENAI_API_KEY) is not there either.
    expect(JSON.stringify(serverEnv)).not.toMatch(/sk-test|sk-ant|psk-|aws-secret/)
  })
})
