// The scripted LLM server's answers, read through the real `openai` client: streams, tool calls, usage, plain completions.
import OpenAI from "openai"
import type { ChatCompletionChunk } from "openai/resources/chat/completions"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  type ScriptedLlmServer,
  type ScriptedToolCall,
  startScriptedLlmServer,
} from "./scripted-llm-server.ts"

const userSays = (text: string) => [{ role: "user" as const, content: text }]

function clientFor(server: ScriptedLlmServer): OpenAI {
  return new OpenAI({ apiKey: "test", baseURL: server.url, maxRetries: 0, logLevel: "off" })
}

async function streamOf(client: OpenAI, options: { stream_options?: { include_usage: boolean } } = {}) {
  const stream = await client.chat.completions.create({
    model: "scripted-test-model",
    messages: userSays("hello"),
    stream: true,
    ...options,
  })
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

const deltas = (chunks: ChatCompletionChunk[]) => chunks.flatMap((chunk) => chunk.choices.map((c) => c.delta))
const contentOf = (chunks: ChatCompletionChunk[]) => deltas(chunks).map((delta) => delta.content ?? "")
/** `reasoning_content` is a DeepSeek extension the SDK's types do not know; read it off the raw delta. */
const reasoningOf = (chunks: ChatCompletionChunk[]) =>
  deltas(chunks).map((delta) => {
    const value: unknown = Reflect.get(delta, "reasoning_content")
    return typeof value === "string" ? value : ""
  })

/** Reassembles streamed tool calls the way a client must: by index, the first delta naming the call. */
function toolCallsOf(chunks: ChatCompletionChunk[]) {
  const calls: { id: string; name: string; arguments: string; pieces: number }[] = []
  for (const delta of deltas(chunks)) {
    for (const piece of delta.tool_calls ?? []) {
      const call = calls[piece.index] ?? { id: "", name: "", arguments: "", pieces: 0 }
      calls[piece.index] = call
      if (piece.id) call.id = piece.id
      if (piece.function?.name) call.name = piece.function.name
      if (piece.function?.arguments) {
        call.arguments += piece.function.arguments
        call.pieces++
      }
    }
  }
  return calls
}

describe("the scripted LLM server, streaming", () => {
  it("streams text in several deltas, echoes the model, and ends with finish_reason stop", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ text: "Hello there, world!", chunkSize: 5 }],
    })
    const chunks = await streamOf(clientFor(server))

    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant")
    expect(contentOf(chunks).filter((text) => text !== "")).toEqual(["Hello", " ther", "e, wo", "rld!"])
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop")
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set(["scripted-test-model"]))
    expect(new Set(chunks.map((chunk) => chunk.object))).toEqual(new Set(["chat.completion.chunk"]))
    expect(server.remaining()).toBe(0)
  })

  it("streams reasoning as reasoning_content before the text", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ reasoning: "Let me think about it.", text: "42", chunkSize: 4 }],
    })
    const chunks = await streamOf(clientFor(server))

    expect(reasoningOf(chunks).join("")).toBe("Let me think about it.")
    const firstText = contentOf(chunks).findIndex((text) => text !== "")
    const lastReasoning = reasoningOf(chunks).findLastIndex((text) => text !== "")
    expect(lastReasoning).toBeLessThan(firstText)
    expect(contentOf(chunks).join("")).toBe("42")
  })

  it("streams a tool call whose arguments arrive in pieces and reassemble to the scripted JSON", async () => {
    const args = { path: "/workspace/notes.md", content: "ünïcødé ✓ text", append: true }
    const scripted: ScriptedToolCall = { name: "writeTextFile", arguments: args }
    await using server = await startScriptedLlmServer({ steps: [{ toolCalls: [scripted], chunkSize: 6 }] })
    const chunks = await streamOf(clientFor(server))

    const [call, ...others] = toolCallsOf(chunks)
    expect(others).toEqual([])
    expect(call?.id).toBe("call_1")
    expect(call?.name).toBe("writeTextFile")
    expect(call?.pieces).toBeGreaterThan(3)
    expect(JSON.parse(call?.arguments ?? "")).toEqual(args)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls")
  })

  it("streams two parallel tool calls with their own indexes and ids", async () => {
    await using server = await startScriptedLlmServer({
      steps: [
        {
          text: "Reading both.",
          toolCalls: [
            { name: "readTextFile", arguments: { path: "a.txt" } },
            { id: "call_custom", name: "readTextFile", arguments: { path: "b.txt" } },
          ],
        },
        { toolCalls: [{ name: "think", arguments: "{}" }] },
      ],
    })
    const client = clientFor(server)
    const chunks = await streamOf(client)

    expect(toolCallsOf(chunks).map(({ pieces: _, ...call }) => call)).toEqual([
      { id: "call_1", name: "readTextFile", arguments: '{"path":"a.txt"}' },
      { id: "call_custom", name: "readTextFile", arguments: '{"path":"b.txt"}' },
    ])
    expect(contentOf(chunks).join("")).toBe("Reading both.")
    // ids stay unique across the whole server, not per answer
    expect(toolCallsOf(await streamOf(client))[0]?.id).toBe("call_2")
  })

  it("sends usage in a last chunk with no choices when stream_options.include_usage is set", async () => {
    await using server = await startScriptedLlmServer({
      steps: [
        {
          text: "hi",
          usage: { promptTokens: 120, completionTokens: 30, cachedTokens: 100, reasoningTokens: 10 },
        },
        { text: "a default usage" },
      ],
    })
    const client = clientFor(server)
    const chunks = await streamOf(client, { stream_options: { include_usage: true } })

    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage).toMatchObject({
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 10 },
    })
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true)

    const usage = (await streamOf(client, { stream_options: { include_usage: true } })).at(-1)?.usage
    expect(usage?.prompt_tokens).toBeGreaterThan(0)
    expect(usage?.completion_tokens).toBeGreaterThan(0)
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
  })

  it("sends no usage chunk when the request did not ask for one", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ text: "hi" }] })
    const chunks = await streamOf(clientFor(server))
    expect(chunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1)).toBe(true)
  })

  it("is accepted by the SDK's own stream helper, which assembles the final completion", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ text: "Calling.", toolCalls: [{ name: "exec", arguments: { command: "ls -la" } }] }],
    })
    const runner = clientFor(server).chat.completions.stream({ model: "m", messages: userSays("go") })
    const completion = await runner.finalChatCompletion()

    const message = completion.choices[0]?.message
    expect(message?.content).toBe("Calling.")
    expect(message?.tool_calls?.[0]).toMatchObject({
      id: "call_1",
      type: "function",
      function: { name: "exec", arguments: '{"command":"ls -la"}' },
    })
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls")
  })
})

describe("the scripted LLM server, without streaming", () => {
  it("answers one chat.completion with reasoning, tool calls as JSON strings, and usage", async () => {
    await using server = await startScriptedLlmServer({
      steps: [
        { reasoning: "hmm", toolCalls: [{ name: "attemptCompletion", arguments: { result: "done" } }] },
        { text: "The end.", finishReason: "length" },
      ],
    })
    const client = clientFor(server)
    const completion = await client.chat.completions.create({
      model: "plain-model",
      messages: userSays("hi"),
    })

    expect(completion.object).toBe("chat.completion")
    expect(completion.model).toBe("plain-model")
    const choice = completion.choices[0]
    expect(choice?.finish_reason).toBe("tool_calls")
    expect(choice?.message.content).toBeNull()
    expect(Reflect.get(choice?.message ?? {}, "reasoning_content")).toBe("hmm")
    expect(choice?.message.tool_calls).toEqual([
      {
        id: "call_1",
        type: "function",
        function: { name: "attemptCompletion", arguments: '{"result":"done"}' },
      },
    ])
    expect(completion.usage?.total_tokens).toBeGreaterThan(0)

    const second = await client.chat.completions.create({ model: "plain-model", messages: userSays("more") })
    expect(second.choices[0]?.message.content).toBe("The end.")
    expect(second.choices[0]?.finish_reason).toBe("length")
  })

  it("lets a function step read the recorded request, after a delay", async () => {
    await using server = await startScriptedLlmServer()
    server.push((request) => {
      const body = z.object({ messages: z.array(z.object({ content: z.string() })) }).parse(request.body)
      return { text: `you said: ${body.messages.at(-1)?.content}`, delayMs: 20 }
    })
    const completion = await clientFor(server).chat.completions.create({
      model: "m",
      messages: userSays("ping"),
    })

    expect(completion.choices[0]?.message.content).toBe("you said: ping")
    const [request] = server.requests
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" })
    expect(request?.headers.authorization).toBe("Bearer test")
    expect(request?.headers["content-type"]).toContain("application/json")
  })

  it("lists one model and records every request in order, chat completions and others", async () => {
    await using server = await startScriptedLlmServer({ modelId: "the-model", steps: [{ text: "x" }] })
    const client = clientFor(server)
    const models = await client.models.list()
    await client.chat.completions.create({ model: "m", messages: userSays("x") })

    expect(models.data.map((model) => model.id)).toEqual(["the-model"])
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /v1/models",
      "POST /v1/chat/completions",
    ])
  })
})
