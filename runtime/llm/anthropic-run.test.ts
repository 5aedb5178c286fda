import { readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { RunSpec } from "../protocol/run-spec.ts"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../testing/run-harness.ts"
import { buildRunSpec } from "../testing/run-spec-builder.ts"
import { startScriptedAnthropicServer } from "../testing/scripted-anthropic/scripted-anthropic-server.ts"

const KEY = "sk-ant-test-0123456789"

type Block = { type: string; cache_control?: unknown; signature?: string; thinking?: string; data?: string }
type Body = {
  system: Block[]
  tools: Block[]
  messages: Array<{ role: string; content: Block[] }>
  thinking?: unknown
  max_tokens: number
}
const bodyOf = (request: { body: unknown }) => request.body as Body
const breakpoints = (body: Body) =>
  [...body.system, ...(body.tools ?? []), ...body.messages.flatMap((m) => m.content)].filter(
    (block) => block.cache_control !== undefined,
  ).length

function anthropicSpec(workspace: string, url: string, reasoningBudget: RunSpec["reasoningBudget"]): RunSpec {
  return {
    ...buildRunSpec({ workspace, llmUrl: url, model: "claude-sonnet-4-5" }),
    provider: { providerName: "anthropic", setting: { baseUrl: url, headers: { "x-team": "perstack" } } },
    reasoningBudget,
  }
}

describe("the anthropic provider over the Messages API", () => {
  it("caches, sends signed thinking back, and counts the cache reads it reported", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [
        {
          thinking: "Write the plan first.",
          redactedThinking: "opaque-redacted-1",
          toolUses: [{ name: "writeTextFile", input: { path: "plan.md", text: "# Plan\n" } }],
          usage: { inputTokens: 50, cacheCreationInputTokens: 1000, outputTokens: 20 },
        },
        {
          thinking: "Done; complete.",
          toolUses: [{ name: "attemptCompletion", input: {} }],
          usage: { inputTokens: 30, cacheReadInputTokens: 1000, outputTokens: 5 },
        },
        { text: "I wrote plan.md.", usage: { inputTokens: 20, cacheReadInputTokens: 1100, outputTokens: 6 } },
      ],
    })
    const result = await runScriptedSegment(anthropicSpec(ws.dir, llm.url, "medium"), {
      env: { ANTHROPIC_API_KEY: KEY },
    })

    expect(llm.refusals).toEqual([])
    expect(result.terminal.type).toBe("completeRun")
    expect(await readFile(path.join(ws.dir, "plan.md"), "utf8")).toBe("# Plan\n")
    expect(llm.requests).toHaveLength(3)
    for (const request of llm.requests) {
      expect(request.path).toBe("/v1/messages")
      // @anthropic-ai/sdk 1.x sends the key as a Bearer token.
      expect(request.headers).toMatchObject({ authorization: `Bearer ${KEY}`, "x-team": "perstack" })
      expect(request.headers["anthropic-version"]).toBeTruthy()
      const body = bodyOf(request)
      expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 5000 })
      expect(body.system.at(-1)?.cache_control).toEqual({ type: "ephemeral" })
      expect(body.messages.at(-1)?.content.at(-1)?.cache_control).toEqual({ type: "ephemeral" })
      expect(breakpoints(body)).toBeLessThanOrEqual(4)
    }
    // Tools are offered (and cached) while the model works; the final answer is asked for without them.
    const [first, second, third] = llm.requests.map(bodyOf)
    expect(first?.tools.at(-1)?.cache_control).toEqual({ type: "ephemeral" })
    expect(second?.tools.at(-1)?.cache_control).toEqual({ type: "ephemeral" })
    // The first answer's thinking goes back verbatim, signed, before its tool use; the redacted block with it.
    const answered = second?.messages.at(-2)?.content ?? []
    expect(answered.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"])
    expect(answered[0]).toMatchObject({ thinking: "Write the plan first." })
    expect(answered[0]?.signature).toBeTruthy()
    expect(answered[1]).toMatchObject({ data: "opaque-redacted-1" })
    expect(third?.messages.at(-2)?.content[0]).toMatchObject({
      type: "thinking",
      thinking: "Done; complete.",
    })
    expect(breakpoints(third as Body)).toBeLessThanOrEqual(4)

    // The checkpoint keeps the signature and the redacted data.
    const thinkingParts = result.checkpoint.messages.flatMap((message) =>
      message.type === "expertMessage" ? message.contents.filter((part) => part.type === "thinkingPart") : [],
    )
    expect(thinkingParts[0]).toMatchObject({
      thinking: "Write the plan first.",
      signature: expect.any(String),
    })
    expect(thinkingParts[1]).toMatchObject({ thinking: "", redactedData: "opaque-redacted-1" })

    // Reasoning streams as on the OpenAI path.
    expect(eventsOf(result, "completeStreamingReasoning").map((event) => event.text)).toEqual([
      "Write the plan first.",
      "Done; complete.",
    ])
    // Usage: input holds the cache's reads and writes (as OpenAI's prompt_tokens does), cached the reads.
    const [complete] = eventsOf(result, "completeRun")
    expect(complete?.checkpoint.usage).toMatchObject({
      inputTokens: 1050 + 1030 + 1120,
      cachedInputTokens: 2100,
      outputTokens: 31,
      totalTokens: 1050 + 1030 + 1120 + 31,
    })
    const [callTools] = eventsOf(result, "callTools")
    expect(callTools?.usage).toMatchObject({ inputTokens: 1050, cachedInputTokens: 0 })
  })

  it("sends no thinking for budget none, and a tool-use turn goes back as it was", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [{ toolUses: [{ name: "attemptCompletion", input: {} }] }, { text: "Nothing to do." }],
    })
    const result = await runScriptedSegment(anthropicSpec(ws.dir, llm.url, "none"), {
      env: { ANTHROPIC_API_KEY: KEY },
    })
    expect(llm.refusals).toEqual([])
    expect(result.terminal.type).toBe("completeRun")
    expect(llm.requests.map((request) => "thinking" in (request.body as object))).toEqual([false, false])
  })

  it("stops with the provider's error: a bad key is provider.auth, not retried", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedAnthropicServer({ apiKey: KEY, steps: [{ text: "never" }] })
    const result = await runScriptedSegment(anthropicSpec(ws.dir, llm.url, "none"), {
      env: { ANTHROPIC_API_KEY: "sk-ant-wrong-0123456789" },
    })
    expect(result.terminal.type).toBe("stopRunByError")
    expect(eventsOf(result, "stopRunByError")[0]?.error).toMatchObject({
      code: "provider.auth",
      statusCode: 401,
      isRetryable: false,
    })
    expect(llm.requests).toHaveLength(1)
  })

  it("retries an overloaded (529) and a rate-limited (429) answer, the latter after its retry-after", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [
        { type: "error", status: 529, message: "Overloaded" },
        { type: "error", status: 429, message: "rate limited", headers: { "retry-after": "0" } },
        { text: "Here it is." },
      ],
    })
    const result = await runScriptedSegment(anthropicSpec(ws.dir, llm.url, "none"), {
      env: { ANTHROPIC_API_KEY: KEY },
    })
    expect(result.terminal.type).toBe("completeRun")
    expect(llm.requests).toHaveLength(3)
  })
})
