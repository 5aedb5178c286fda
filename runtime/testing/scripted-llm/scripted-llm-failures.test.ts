// How the scripted LLM server fails on purpose, and how each failure surfaces through the real `openai` client.
import OpenAI from "openai"
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions"
import { describe, expect, it } from "vitest"
import { type ScriptedLlmServer, startScriptedLlmServer } from "./scripted-llm-server.ts"

const messages: ChatCompletionMessageParam[] = [
  { role: "user", content: "Read the file" },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "call_9", type: "function", function: { name: "readTextFile", arguments: "{}" } }],
  },
  { role: "tool", tool_call_id: "call_9", content: "the file says hello" },
]

function clientFor(server: ScriptedLlmServer, apiKey = "test"): OpenAI {
  return new OpenAI({ apiKey, baseURL: server.url, maxRetries: 0, logLevel: "off" })
}

/** The rejection of a promise that must fail with an error of the given class. */
async function failureOf<E extends Error>(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.then(
    () => expect.fail("expected a failure"),
    (reason: unknown) => reason,
  )
  if (!(error instanceof kind)) return expect.fail(`expected a ${kind.name}, got ${String(error)}`)
  return error
}

describe("the scripted LLM server's scripted failures", () => {
  it("a 429 with retry-after surfaces as the SDK's RateLimitError with the header visible", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ type: "error", status: 429, message: "slow down", headers: { "retry-after": "1" } }],
    })
    const rateLimited = await failureOf(
      clientFor(server).chat.completions.create({ model: "m", messages, stream: true }),
      OpenAI.RateLimitError,
    )

    expect(rateLimited.status).toBe(429)
    expect(rateLimited.headers.get("retry-after")).toBe("1")
    expect(rateLimited.message).toContain("slow down")
    expect(rateLimited.code).toBe("rate_limit_exceeded")
  })

  it("a 500 surfaces as the SDK's InternalServerError", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ type: "error", status: 500 }] })
    const error = await failureOf(
      clientFor(server).chat.completions.create({ model: "m", messages }),
      OpenAI.InternalServerError,
    )
    expect(error).toMatchObject({ status: 500, type: "server_error" })
  })

  it("a stalled stream sends its first chunks, then nothing until the client aborts", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ type: "stall", afterChunks: 2 }] })
    const controller = new AbortController()
    const stream = await clientFor(server).chat.completions.create(
      { model: "m", messages, stream: true },
      { signal: controller.signal },
    )
    const received: string[] = []
    for await (const chunk of stream) {
      received.push(chunk.choices[0]?.delta.content ?? "")
      // abort once the partial answer is in; the stream would otherwise never end
      if (received.length === 2) setTimeout(() => controller.abort(), 50)
    }
    // the SDK ends an aborted stream quietly, without throwing
    expect(received).toEqual(["", "partial "])
    expect(controller.signal.aborted).toBe(true)
    await server.close()
  })

  it("close() resolves with a stalled stream still open, and the reader sees the connection end", async () => {
    const server = await startScriptedLlmServer({
      steps: [{ type: "stall", afterChunks: 1 }, { type: "stall" }],
    })
    const client = clientFor(server)
    const stream = await client.chat.completions.create({ model: "m", messages, stream: true })
    const iterator = stream[Symbol.asyncIterator]()
    await iterator.next()
    const pendingRead = iterator.next()
    const plainFailure = failureOf(
      client.chat.completions.create({ model: "m", messages }),
      OpenAI.APIConnectionError,
    )
    await expect.poll(() => server.requests.length).toBe(2)

    await server.close()
    // a raw undici TypeError, not one of the SDK's error classes
    await expect(pendingRead).rejects.toThrow("terminated")
    await plainFailure
  })

  it("a malformed chunk makes the SDK's stream iteration throw after the good chunks", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ type: "malformedChunk", afterChunks: 2, text: "Half an answ" }],
    })
    const stream = await clientFor(server).chat.completions.create({ model: "m", messages, stream: true })
    const received: string[] = []
    const reading = (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "")
    })()
    // a plain SyntaxError, not one of the SDK's APIError classes
    await failureOf(reading, SyntaxError)
    expect(received).toEqual(["", "Half an "])
  })

  it("a reset surfaces as the SDK's APIConnectionError caused by ECONNRESET", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ type: "reset" }, { text: "still alive" }] })
    const client = clientFor(server)
    const error = await failureOf(
      client.chat.completions.create({ model: "m", messages, stream: true }),
      OpenAI.APIConnectionError,
    )
    expect(error).toMatchObject({ cause: { cause: { code: "ECONNRESET" } } })
    const next = await client.chat.completions.create({ model: "m", messages })
    expect(next.choices[0]?.message.content).toBe("still alive")
  })

  it("a client that leaves in the middle of a large stream does not disturb the server", async () => {
    await using server = await startScriptedLlmServer({
      steps: [{ text: "x".repeat(4_000_000), chunkSize: 1_000 }, { text: "next" }],
    })
    const client = clientFor(server)
    const stream = await client.chat.completions.create({ model: "m", messages, stream: true })
    let seen = 0
    for await (const _chunk of stream) {
      if (++seen === 3) break
    }
    const next = await client.chat.completions.create({ model: "m", messages })
    expect(next.choices[0]?.message.content).toBe("next")
  })
})

describe("the scripted LLM server's own checks", () => {
  it("answers 401 to a wrong api key, records the request, and keeps the step", async () => {
    await using server = await startScriptedLlmServer({ apiKey: "right-key", steps: [{ text: "welcome" }] })
    const wrongKey = clientFor(server, "wrong-key")
    await failureOf(wrongKey.chat.completions.create({ model: "m", messages }), OpenAI.AuthenticationError)
    expect(server.requests[0]?.headers.authorization).toBe("Bearer wrong-key")
    expect(server.remaining()).toBe(1)
    const welcome = await clientFor(server, "right-key").chat.completions.create({ model: "m", messages })
    expect(welcome.choices[0]?.message.content).toBe("welcome")
  })

  it("answers 500 naming the exhausted script and the last tool message", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ text: "only one" }] })
    const client = clientFor(server)
    await client.chat.completions.create({ model: "m", messages })
    const { message } = await failureOf(
      client.chat.completions.create({ model: "m", messages }),
      OpenAI.InternalServerError,
    )
    expect(message).toContain("script is exhausted")
    expect(message).toContain("1 scripted step(s)")
    expect(message).toContain('last tool message (tool_call_id call_9): "the file says hello"')
    expect(server.requests).toHaveLength(2)
  })

  it("answers 500 when a function step throws or returns something that is not a reply", async () => {
    await using server = await startScriptedLlmServer({
      steps: [
        () => {
          throw new Error("step broke")
        },
        // what a JavaScript caller, free of the types, could return
        () => JSON.parse('{"txt":"typo"}'),
      ],
    })
    const client = clientFor(server)
    const ask = () =>
      failureOf(client.chat.completions.create({ model: "m", messages }), OpenAI.InternalServerError)
    expect((await ask()).message).toContain("step broke")
    expect((await ask()).message).toContain('Unrecognized key: "txt"')
  })

  it("refuses a bad plain step when it is added", async () => {
    await using server = await startScriptedLlmServer()
    expect(() => server.push({ type: "error", status: 200 })).toThrow(/scripted step 0[\s\S]*status/)
  })

  it("answers 400 to a body that is not JSON and 404 to an unknown path, recording both", async () => {
    await using server = await startScriptedLlmServer({ steps: [{ text: "unused" }] })
    const notJson = await fetch(`${server.url}/chat/completions`, { method: "POST", body: "{oops" })
    const unknown = await fetch(`${server.url}/embeddings`, { method: "POST", body: "{}" })

    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ error: { type: "invalid_request_error" } })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({
      error: { message: expect.stringContaining("/v1/embeddings") },
    })
    expect(server.requests.map((request) => request.body)).toEqual(["{oops", {}])
    expect(server.remaining()).toBe(1)
  })
})
