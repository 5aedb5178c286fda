// A sandbox holding its gateway token calls the gateway itself, as a hostile one would: however it asks, what it
// spends is counted, and a spent [budget] refuses it.
import http from "node:http"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { startLlmGateway } from "./llm-gateway.ts"

const KEY = "sk-test-orchestrator-key"

function post(url: string, token: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<{ request: http.ClientRequest; response: http.IncomingMessage }>((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    })
    request.once("response", (response) => resolve({ request, response }))
    request.once("error", reject)
    request.end(body)
  })
}

async function bodyOf(response: http.IncomingMessage): Promise<string> {
  let out = ""
  for await (const chunk of response) out += chunk
  return out
}

/** Reads until `count` SSE data lines have arrived. */
async function dataLines(response: http.IncomingMessage, count: number): Promise<string> {
  let received = ""
  for await (const chunk of response) {
    received += chunk
    if ((received.match(/^data: /gm) ?? []).length >= count) break
  }
  return received
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const chat = (extra: object = {}) =>
  JSON.stringify({ model: "m", messages: [{ role: "user", content: "count my tokens" }], ...extra })
const estimate = (inputBytes: number, outputBytes: number) => ({
  inputTokens: Math.ceil(inputBytes / 4),
  outputTokens: Math.ceil(outputBytes / 4),
  reasoningTokens: 0,
  totalTokens: Math.ceil(inputBytes / 4) + Math.ceil(outputBytes / 4),
  cachedInputTokens: 0,
})

async function gatewayTo(llmUrl: string, budget?: { totalTokens: number }) {
  return startLlmGateway({
    provider: { providerName: "openai", setting: { baseUrl: llmUrl } },
    env: { OPENAI_API_KEY: KEY },
    ...(budget ? { budget } : {}),
  })
}

describe("the gateway's token count", () => {
  it("makes a streamed request report its usage: 60 generations past a 500-token budget are refused", async () => {
    await using llm = await startScriptedLlmServer({
      steps: Array.from({ length: 60 }, () => ({
        text: "fine",
        usage: { promptTokens: 60, completionTokens: 40 },
      })),
    })
    await using gateway = await gatewayTo(llm.url, { totalTokens: 500 })
    const token = gateway.issueToken("run-1")
    const statuses: number[] = []
    for (let i = 0; i < 60; i++) {
      // stream: true and no stream_options: a provider would report no usage at all.
      const { response } = await post(gateway.url, token, chat({ stream: true }))
      statuses.push(response.statusCode ?? 0)
      await bodyOf(response)
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
    expect(statuses.slice(5).every((status) => status === 402)).toBe(true)
    expect(llm.requests).toHaveLength(5)
    expect(
      llm.requests.map((request) => (request.body as { stream_options?: unknown }).stream_options),
    ).toEqual(Array.from({ length: 5 }, () => ({ include_usage: true })))
    expect(gateway.usage.totalTokens).toBe(500)
    expect(gateway.budgetError).toBe(
      "the job's token budget is spent: totalTokens 500 of 500 ([budget] in perstack.toml)",
    )
  })

  it("counts bytes / 4 of what it forwarded when the provider reports nothing, streamed or not", async () => {
    await using llm = await startScriptedLlmServer({
      reportsUsage: false,
      steps: [{ text: "x".repeat(400), reasoning: "r".repeat(40), chunkSize: 50 }, { text: "y".repeat(200) }],
    })
    await using gateway = await gatewayTo(llm.url)
    const token = gateway.issueToken("run-1")
    const streamed = chat({ stream: true, stream_options: { include_usage: false } })
    const first = await post(gateway.url, token, streamed)
    expect(await bodyOf(first.response)).not.toContain('"usage":{')
    expect(gateway.runUsage("run-1")).toEqual(estimate(Buffer.byteLength(streamed), 440))

    const whole = chat()
    const second = await post(gateway.url, token, whole)
    expect(JSON.parse(await bodyOf(second.response)).choices[0].message.content).toBe("y".repeat(200))
    expect(gateway.runUsage("run-2")).toEqual(estimate(0, 0))
    const both = estimate(Buffer.byteLength(streamed), 440)
    const then = estimate(Buffer.byteLength(whole), 200)
    expect(gateway.runUsage("run-1").totalTokens).toBe(both.totalTokens + then.totalTokens)
    expect(gateway.usage.totalTokens).toBe(both.totalTokens + then.totalTokens)
  })

  it("counts a stream its client aborts half way from what had been forwarded", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "stall", afterChunks: 6, text: "z".repeat(80) }],
    })
    await using gateway = await gatewayTo(llm.url)
    const token = gateway.issueToken("run-1")
    const body = chat({ stream: true })
    const { request, response } = await post(gateway.url, token, body)
    // The role chunk and five deltas of eight characters, then the provider goes quiet: the client gives up.
    await dataLines(response, 6)
    request.destroy()
    await until(() => gateway.runUsage("run-1").totalTokens > 0, "the aborted stream counted")
    expect(gateway.runUsage("run-1")).toEqual(estimate(Buffer.byteLength(body), 40))
  })

  it("ends a run's requests in flight when its token is revoked, and counts them at once", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "stall", afterChunks: 3, text: "w".repeat(80) }],
    })
    await using gateway = await gatewayTo(llm.url)
    const token = gateway.issueToken("run-1")
    const body = chat({ stream: true })
    const { response } = await post(gateway.url, token, body)
    await dataLines(response, 3)
    const ended = new Promise((resolve) => response.once("close", resolve))
    // The run's sandbox has ended: what its requests spent is known as soon as its token is gone.
    gateway.revokeToken(token)
    expect(gateway.runUsage("run-1")).toEqual(estimate(Buffer.byteLength(body), 16))
    await ended
  })

  it("forwards only requests it can read and count: not JSON, or compressed, is refused", async () => {
    await using llm = await startScriptedLlmServer({ steps: [{ text: "never" }] })
    await using gateway = await gatewayTo(llm.url)
    const token = gateway.issueToken("run-1")
    const garbled = await post(gateway.url, token, "{not json")
    expect(garbled.response.statusCode).toBe(400)
    expect(await bodyOf(garbled.response)).toContain("gateway.badRequest")
    const packed = await post(gateway.url, token, gzipSync(chat({ stream: true })), {
      "content-encoding": "gzip",
    })
    expect(packed.response.statusCode).toBe(415)
    expect(await bodyOf(packed.response)).toContain("content-encoding")
    expect(llm.requests).toHaveLength(0)
  })
})
