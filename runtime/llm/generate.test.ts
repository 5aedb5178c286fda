import { describe, expect, it } from "vitest"
import type { ProviderConfig, ReasoningBudget } from "../protocol/config/provider.ts"
import type { Message } from "../protocol/message.ts"
import { startScriptedLlmServer } from "../testing/scripted-llm/scripted-llm-server.ts"
import { createLlmClient } from "./generate.ts"
import { resolveProvider } from "./resolve-provider.ts"

function client(url: string, providerName: ProviderConfig["providerName"], reasoningBudget: ReasoningBudget) {
  const provider = resolveProvider({
    provider: { providerName } as ProviderConfig,
    env: { OPENAI_API_KEY: "k", ANTHROPIC_API_KEY: "k", OPENROUTER_API_KEY: "k", DEEPSEEK_API_KEY: "k" },
    baseUrlOverride: url,
  })
  return createLlmClient({
    provider,
    model: "m",
    reasoningBudget,
    timeoutMs: 2_000,
    maxRetries: 1,
    random: () => 0,
  })
}
const ask: Message[] = [
  { type: "userMessage", id: "m1", contents: [{ type: "textPart", id: "p1", text: "hi" }] },
]

describe("generate", () => {
  it("counts input, cached, output and reasoning tokens from the provider's usage", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          text: "ok",
          reasoning: "hmm",
          usage: { promptTokens: 1000, cachedTokens: 800, completionTokens: 50, reasoningTokens: 30 },
        },
      ],
    })
    const result = await client(llm.url, "openai", "none").generate({ messages: ask, tools: [] })
    expect(result.usage).toEqual({
      inputTokens: 1000,
      cachedInputTokens: 800,
      outputTokens: 50,
      reasoningTokens: 30,
      totalTokens: 1050,
    })
    expect(result).toMatchObject({ text: "ok", reasoning: "hmm", finishReason: "stop" })
  })

  it.each([
    ["openai", "medium", { reasoning_effort: "medium" }],
    ["openai", 9000, { reasoning_effort: "high" }],
    ["openrouter", "high", { reasoning: { max_tokens: 10000 } }],
  ] as const)("maps the reasoning budget for %s (%s)", async (providerName, budget, expected) => {
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }] })
    await client(llm.url, providerName, budget).generate({ messages: ask, tools: [] })
    expect(llm.requests[0]?.body).toMatchObject(expected)
  })

  it("sends no reasoning setting for budget none, or for providers without one", async () => {
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }, { text: "ok" }] })
    await client(llm.url, "openai", "none").generate({ messages: ask, tools: [] })
    await client(llm.url, "deepseek", "high").generate({ messages: ask, tools: [] })
    for (const request of llm.requests) {
      expect(Object.keys(request.body as object)).not.toEqual(expect.arrayContaining(["reasoning_effort"]))
    }
  })

  it("drops the reasoning setting once when the model refuses it, then goes on without", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [
        { type: "error", status: 400, message: "Unrecognized request argument supplied: reasoning_effort" },
        { text: "ok" },
        { text: "again" },
      ],
    })
    const llmClient = client(llm.url, "openai", "low")
    expect((await llmClient.generate({ messages: ask, tools: [] })).text).toBe("ok")
    expect((await llmClient.generate({ messages: ask, tools: [] })).text).toBe("again")
    expect(llm.requests.map((request) => "reasoning_effort" in (request.body as object))).toEqual([
      true,
      false,
      false,
    ])
  })

  it("does not retry a 400 that is not about reasoning", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "error", status: 400, message: "messages: too long" }],
    })
    await expect(
      client(llm.url, "openai", "low").generate({ messages: ask, tools: [] }),
    ).rejects.toMatchObject({
      code: "provider.badRequest",
      statusCode: 400,
      isRetryable: false,
    })
  })
})
