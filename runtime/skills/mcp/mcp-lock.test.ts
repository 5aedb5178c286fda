// A run given skill locks (from perstack.lock): tools come from the lock, a server starts at its first call.
import { describe, expect, it } from "vitest"
import type { SkillLocks } from "../../protocol/lockfile.ts"
import { fixtureSkill } from "../../testing/mcp-servers/stdio-fixture.ts"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../../testing/run-harness.ts"
import { buildRunSpec } from "../../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../testing/scripted-llm/scripted-llm-server.ts"

const skillLocks: SkillLocks = {
  docs: {
    tools: [
      {
        name: "search",
        description: "Searches (as locked)",
        inputSchema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
      },
    ],
  },
  idle: { tools: [{ name: "ok", inputSchema: { type: "object" } }] },
}

describe("a run with skill locks", () => {
  it("offers the locked tools at once and starts a server only at its first call", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ id: "s1", name: "docs__search", arguments: { query: "mcp" } }] },
        { toolCalls: [{ id: "s2", name: "docs__search", arguments: { query: "again" } }] },
        { text: "found it" },
      ],
    })
    const spec = {
      ...buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: { skills: { docs: fixtureSkill("tools"), idle: fixtureSkill("crashing") } },
      }),
      skillLocks,
    }
    const result = await runScriptedSegment(spec)

    const body = llm.requests[0]?.body as {
      tools?: Array<{ function: { name: string; description: string } }>
    }
    const tools = body?.tools ?? []
    // The lock's list, not the server's (which also has `environment`, `pid` and `refuse`).
    expect(
      tools.filter((tool) => tool.function.name.startsWith("docs__")).map((tool) => tool.function),
    ).toEqual([expect.objectContaining({ name: "docs__search", description: "Searches (as locked)" })])
    expect(result.types).toEqual([
      "initializeRuntime",
      "startRun",
      "startGeneration",
      "callTools",
      // the lazy start, at the first call
      "skillStarting",
      "skillConnected",
      "recordToolResult",
      "resolveToolResults",
      "finishToolCall",
      "continueToNextStep",
      "startGeneration",
      "callTools",
      "recordToolResult",
      "resolveToolResults",
      "finishToolCall",
      "continueToNextStep",
      "startGeneration",
      // `idle` was never called, so never started
      "skillDisconnected",
      "completeRun",
    ])
    const [starting] = eventsOf(result, "skillStarting")
    expect(starting).toMatchObject({ skillName: "docs", command: process.execPath })
    const [connected] = eventsOf(result, "skillConnected")
    expect(connected).toMatchObject({ skillName: "docs", serverInfo: { name: "tools-server" } })
    expect(connected).not.toHaveProperty("toolDiscoveryDurationMs")
    const texts = eventsOf(result, "resolveToolResults").map((event) => event.toolResults[0]?.result[0])
    expect(texts).toEqual([
      expect.objectContaining({ text: 'tools-server found 3 results for "mcp"' }),
      expect.objectContaining({ text: 'tools-server found 3 results for "again"' }),
    ])
  })

  it("a locked server that cannot start gives the call an error result, not a crashed run", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ id: "s1", name: "docs__search", arguments: { query: "x" } }] },
        { text: "gave up" },
      ],
    })
    const spec = {
      ...buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: { skills: { docs: { ...fixtureSkill("tools"), command: "/nonexistent/server", args: [] } } },
      }),
      skillLocks,
    }
    const result = await runScriptedSegment(spec)
    const [resolved] = eventsOf(result, "resolveToolResults")
    expect(resolved?.toolResults[0]).toMatchObject({ id: "s1", isError: true })
    const part = resolved?.toolResults[0]?.result[0]
    expect(JSON.parse(part?.type === "textPart" ? part.text : "{}")).toEqual({
      error: "SkillUnavailable",
      message:
        'skill "docs" could not start: command "/nonexistent/server" could not start: not found (not on PATH, or the path does not exist)',
    })
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "gave up" })
  })
})
