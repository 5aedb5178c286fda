import { describe, expect, it } from "vitest"
import type { Message } from "../protocol/message.ts"
import { startScriptedAnthropicServer } from "../testing/scripted-anthropic/scripted-anthropic-server.ts"
import { MAX_CACHE_BREAKPOINTS, toAnthropicPrompt } from "./anthropic-messages.ts"
import { createLlmClient } from "./generate.ts"
import { resolveProvider } from "./resolve-provider.ts"

const text = (id: string, value: string) => ({ type: "textPart" as const, id, text: value })
const PNG = "iVBORw0KGgo="

/** A conversation of three tool rounds, an image and a PDF among them. */
const conversation: Message[] = [
  { type: "instructionMessage", id: "i", cache: true, contents: [text("i1", "You are a writer.")] },
  {
    type: "userMessage",
    id: "u",
    contents: [
      text("u1", "Look at this"),
      { type: "imageInlinePart", id: "u2", encodedData: PNG, mimeType: "image/png" },
      { type: "fileInlinePart", id: "u3", encodedData: "JVBERi0=", mimeType: "application/pdf" },
    ],
  },
  ...[1, 2, 3].flatMap((n): Message[] => [
    {
      type: "expertMessage",
      id: `e${n}`,
      contents: [
        { type: "thinkingPart", id: `t${n}`, thinking: `step ${n}`, signature: `sig-${n}` },
        { type: "toolCallPart", id: `c${n}`, toolCallId: `call_${n}`, toolName: "look", args: { n } },
      ],
    },
    {
      type: "toolMessage",
      id: `r${n}`,
      contents: [
        {
          type: "toolResultPart",
          id: `p${n}`,
          toolCallId: `call_${n}`,
          toolName: "look",
          contents: [text(`x${n}`, `seen ${n}`)],
          ...(n === 2 ? { isError: true } : {}),
        },
      ],
    },
  ]),
]
const tools = [
  { name: "look", description: "Look", parameters: { type: "object", properties: {} } },
  { name: "write", description: "Write", parameters: { type: "object", properties: {} } },
]

describe("toAnthropicPrompt", () => {
  it("sends the system prompt apart, thinking with its signature first, tool results, images and documents", () => {
    const prompt = toAnthropicPrompt(conversation, tools)
    expect(prompt.system).toEqual([
      { type: "text", text: "You are a writer.", cache_control: { type: "ephemeral" } },
    ])
    expect(prompt.messages.map((turn) => turn.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ])
    expect(prompt.messages[0]?.content).toEqual([
      { type: "text", text: "Look at this" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
    ])
    expect(prompt.messages[1]?.content).toEqual([
      { type: "thinking", thinking: "step 1", signature: "sig-1" },
      { type: "tool_use", id: "call_1", name: "look", input: { n: 1 } },
    ])
    expect(prompt.messages[4]?.content).toMatchObject([
      {
        type: "tool_result",
        tool_use_id: "call_2",
        content: [{ type: "text", text: "seen 2" }],
        is_error: true,
      },
    ])
    expect(prompt.unsignedToolTurn).toBe(false)
  })

  it("puts at most four breakpoints: system, last tool, last turn, and the previous request's last turn", () => {
    const prompt = toAnthropicPrompt(conversation, tools)
    const marked = [
      ...prompt.system,
      ...prompt.tools,
      ...prompt.messages.flatMap((turn) => (typeof turn.content === "string" ? [] : turn.content)),
    ].filter((block) => "cache_control" in block && block.cache_control)
    expect(marked).toHaveLength(MAX_CACHE_BREAKPOINTS)
    expect(prompt.tools.map((tool) => tool.cache_control)).toEqual([undefined, { type: "ephemeral" }])
    const markedTurns = prompt.messages.flatMap((turn, index) =>
      typeof turn.content !== "string" && turn.content.some((block) => "cache_control" in block)
        ? [index]
        : [],
    )
    expect(markedTurns).toEqual([4, 6])
  })

  it("drops unsigned thinking (another provider's) and says the tool turn has no signature", () => {
    const fromOpenAi = conversation.map(
      (message): Message =>
        message.type === "expertMessage"
          ? {
              ...message,
              contents: message.contents.map((part) =>
                part.type === "thinkingPart"
                  ? { type: "thinkingPart", id: part.id, thinking: part.thinking }
                  : part,
              ),
            }
          : message,
    )
    const prompt = toAnthropicPrompt(fromOpenAi, tools)
    expect(prompt.messages[1]?.content).toEqual([
      { type: "tool_use", id: "call_1", name: "look", input: { n: 1 } },
    ])
    expect(prompt.unsignedToolTurn).toBe(true)
  })
})

describe("a conversation carried over from another provider", () => {
  it("goes without thinking while its tool turn has no signature, which the real API would refuse", async () => {
    await using llm = await startScriptedAnthropicServer({
      apiKey: "sk-ant-k-0123456789",
      steps: [{ text: "ok" }],
    })
    const llmClient = createLlmClient({
      provider: resolveProvider({
        provider: { providerName: "anthropic", setting: { baseUrl: llm.url } },
        env: { ANTHROPIC_API_KEY: "sk-ant-k-0123456789" },
      }),
      model: "claude-sonnet-4-5",
      reasoningBudget: "high",
      timeoutMs: 5_000,
      maxRetries: 0,
    })
    const unsigned = conversation.map(
      (message): Message =>
        message.type === "expertMessage"
          ? { ...message, contents: message.contents.filter((part) => part.type !== "thinkingPart") }
          : message,
    )
    expect((await llmClient.generate({ messages: unsigned, tools })).text).toBe("ok")
    expect(llm.refusals).toEqual([])
    expect(llm.requests[0]?.body).not.toHaveProperty("thinking")
  })
})
