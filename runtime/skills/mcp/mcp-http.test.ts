// Remote MCP skills: Streamable HTTP and the legacy SSE transport, against a test server on loopback.
import { describe, expect, it } from "vitest"
import type { Skill } from "../../protocol/config/skill.ts"
import { startHttpMcpServer } from "../../testing/mcp-servers/http-server.ts"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../../testing/run-harness.ts"
import { buildRunSpec } from "../../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../testing/scripted-llm/scripted-llm-server.ts"

const remote = (
  type: "mcpHttpSkill" | "mcpSseSkill",
  endpoint: string,
  allowPrivateEndpoint = true,
): Skill => ({
  type,
  endpoint,
  allowPrivateEndpoint,
  requiredEnv: [],
  pick: [],
  omit: [],
  lazyInit: false,
})

describe("remote MCP skills", () => {
  it.each([
    ["mcpHttpSkill", "streamableUrl", "streamable-http", "streamableHttp"],
    ["mcpSseSkill", "sseUrl", "sse", "sse"],
  ] as const)("%s: lists and calls the server's tools", async (type, urlKey, answeredBy, transport) => {
    await using server = await startHttpMcpServer()
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { id: "w", name: "web__whoami", arguments: {} },
            { id: "s", name: "web__search", arguments: { query: "mcp" } },
          ],
        },
        { text: "ok" },
      ],
    })
    const endpoint = `${server[urlKey]}?token=not-in-events`
    const result = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: { skills: { web: remote(type, endpoint) } },
      }),
    )
    const [resolved] = eventsOf(result, "resolveToolResults")
    expect(resolved?.toolResults.map((toolResult) => toolResult.result[0])).toEqual([
      expect.objectContaining({ text: answeredBy }),
      expect.objectContaining({ text: 'http found "mcp"' }),
    ])
    expect(eventsOf(result, "skillStarting")).toEqual([
      expect.objectContaining({ skillName: "web", command: transport, args: [server[urlKey]] }),
    ])
    expect(eventsOf(result, "skillConnected")[0]).toMatchObject({
      serverInfo: { name: "http-test-server", version: "2.0.0" },
      toolDiscoveryDurationMs: expect.any(Number),
    })
    // The transport worked without a complaint (its errors would show up as skillStderr).
    expect(eventsOf(result, "skillStderr")).toEqual([])
    expect(result.terminal.type).toBe("completeRun")
  })

  it("a server that goes away mid-run gives error results, never a crashed run", async () => {
    await using server = await startHttpMcpServer()
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ id: "1", name: "web__search", arguments: { query: "a" } }] },
        async () => {
          await server.close()
          return { toolCalls: [{ id: "2", name: "web__search", arguments: { query: "b" } }] }
        },
        { toolCalls: [{ id: "3", name: "web__search", arguments: { query: "c" } }] },
        { text: "the search server is down" },
      ],
    })
    const result = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: { skills: { web: remote("mcpHttpSkill", server.streamableUrl) } },
      }),
    )
    const outcomes = eventsOf(result, "resolveToolResults").map(
      (event) => event.toolResults[0]?.isError === true,
    )
    expect(outcomes).toEqual([false, true, true])
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "the search server is down" })
  })

  it("refuses a loopback endpoint unless the skill opts in", () => {
    const build = (allowPrivateEndpoint: boolean) =>
      buildRunSpec({
        workspace: "/tmp",
        llmUrl: "http://127.0.0.1:9/v1",
        expert: {
          skills: { web: remote("mcpHttpSkill", "http://[::1]:8080/mcp", allowPrivateEndpoint) },
        },
      })
    expect(() => build(false)).toThrow(/endpoint host \[::1\] is a loopback address/)
    expect(() => build(true)).not.toThrow()
  })
})
