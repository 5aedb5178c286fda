import { describe, expect, it } from "vitest"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../run-harness.ts"
import { buildRunSpec } from "../run-spec-builder.ts"
import { startScriptedLlmServer } from "./scripted-llm-server.ts"

const KEY = "sk-ant-face-0123456789"

describe("the scripted server's Anthropic face", () => {
  it("runs the anthropic provider from a Chat Completions script, recording requests in that shape", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      apiKey: KEY,
      steps: [
        {
          reasoning: "Finish.",
          toolCalls: [{ name: "attemptCompletion", arguments: {} }],
          usage: { promptTokens: 300, cachedTokens: 200, completionTokens: 10 },
        },
        { text: "Done.", usage: { promptTokens: 320, cachedTokens: 300, completionTokens: 4 } },
      ],
    })
    const spec = {
      ...buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, model: "claude-sonnet-4-5" }),
      provider: { providerName: "anthropic" as const, setting: { baseUrl: llm.url } },
      reasoningBudget: "low" as const,
    }
    const result = await runScriptedSegment(spec, { env: { ANTHROPIC_API_KEY: KEY } })
    expect(result.terminal.type).toBe("completeRun")
    expect(eventsOf(result, "completeRun")[0]?.checkpoint.usage).toMatchObject({
      inputTokens: 620,
      cachedInputTokens: 500,
      outputTokens: 14,
    })
    expect(eventsOf(result, "completeStreamingReasoning")[0]?.text).toBe("Finish.")
    const [first, second] = llm.requests
    expect(first?.path).toBe("/v1/messages")
    const chat = first?.body as { messages: Array<{ role: string; content: unknown }> }
    expect(chat.messages[0]).toMatchObject({ role: "system" })
    expect(chat.messages.at(-1)).toMatchObject({ role: "user" })
    expect(JSON.stringify(first?.anthropicBody)).toContain('"cache_control"')
    // The signed thinking went back (the face checks its signature as the real API would).
    const sent = second?.anthropicBody as {
      messages: Array<{ role: string; content: Array<{ type: string }> }>
    }
    expect(sent.messages.at(-2)?.content[0]?.type).toBe("thinking")
    expect((second?.body as typeof chat | undefined)?.messages.at(-1)).toMatchObject({ role: "tool" })
  })
})
