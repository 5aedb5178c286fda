import { describe, expect, it } from "vitest"
import { startScriptedAnthropicServer } from "./scripted-anthropic-server.ts"

const KEY = "sk-ant-stand-in-0123"
const HEADERS = { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": KEY }
const thinkingOn = { type: "enabled", budget_tokens: 1024 }

async function post(url: string, body: unknown, headers: Record<string, string> = HEADERS) {
  const response = await fetch(`${url}/v1/messages`, { method: "POST", headers, body: JSON.stringify(body) })
  return { status: response.status, text: await response.text() }
}

const ask = (extra: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 4096,
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  ...extra,
})

function sseEvents(text: string): Array<{ type: string; [key: string]: unknown }> {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)))
}

describe("the scripted Anthropic stand-in", () => {
  it("streams the real event sequence, thinking signed, usage in message_start and message_delta", async () => {
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [
        {
          thinking: "hmm",
          text: "hello",
          toolUses: [{ name: "look", input: { at: "x" } }],
          usage: { inputTokens: 7, cacheReadInputTokens: 100, outputTokens: 9 },
        },
      ],
    })
    const answer = await post(llm.url, ask({ stream: true, thinking: thinkingOn }))
    expect(answer.status).toBe(200)
    const events = sseEvents(answer.text)
    expect(events.map((event) => event.type)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ])
    expect(events[3]).toMatchObject({ delta: { type: "thinking_delta", thinking: "hmm" } })
    expect(events[4]).toMatchObject({ delta: { type: "signature_delta" } })
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 7, cache_read_input_tokens: 100 } } })
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } })
  })

  it("refuses what the real API refuses, consuming no step", async () => {
    await using llm = await startScriptedAnthropicServer({ apiKey: KEY, steps: [{ text: "ok" }] })
    const { "anthropic-version": _, ...noVersion } = HEADERS
    expect(await post(llm.url, ask(), noVersion)).toMatchObject({ status: 400 })
    const { "x-api-key": __, ...noKey } = HEADERS
    expect(await post(llm.url, ask(), noKey)).toMatchObject({ status: 401 })
    expect(await post(llm.url, ask(), { ...HEADERS, "x-api-key": "wrong" })).toMatchObject({ status: 401 })
    const marked = { type: "text", text: "t", cache_control: { type: "ephemeral" } }
    const five = await post(
      llm.url,
      ask({ system: [marked, marked], messages: [{ role: "user", content: [marked, marked, marked] }] }),
    )
    expect(five.status).toBe(400)
    expect(five.text).toContain("A maximum of 4 blocks with cache_control")
    expect(await post(llm.url, ask({ stream_options: { include_usage: true } }))).toMatchObject({
      status: 400,
    })

    const toolTurn = [
      { role: "user", content: [{ type: "text", text: "look" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "look", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "seen" }] },
    ]
    const unsigned = await post(llm.url, ask({ thinking: thinkingOn, messages: toolTurn }))
    expect(unsigned.status).toBe(400)
    expect(unsigned.text).toContain("must start with a thinking block")
    const forged = toolTurn.map((message) =>
      message.role === "assistant"
        ? {
            ...message,
            content: [{ type: "thinking", thinking: "x", signature: "forged" }, ...message.content],
          }
        : message,
    )
    expect((await post(llm.url, ask({ thinking: thinkingOn, messages: forged }))).text).toContain(
      "Invalid `signature`",
    )
    expect(llm.refusals).toHaveLength(7)
    expect(llm.remaining()).toBe(1)
    // Without thinking, the same turn is fine.
    expect(await post(llm.url, ask({ messages: toolTurn }))).toMatchObject({ status: 200 })
  })
})
