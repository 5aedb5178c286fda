// Benchmark: latency the LLM gateway adds on loopback, gateway vs direct. Per request: one streamed chat completion
// from the scripted server, request sent to last byte received (target: under 2 ms median). Per streamed chunk: a
// paced upstream (a chunk every few ms, each stamped with when it was written, in this process) to the moment the
// client reads it; the scripted server writes a whole answer at once, so its chunks would arrive together.
import http from "node:http"
import type { AddressInfo } from "node:net"
import { startLlmGateway } from "../../orchestrator/gateway/llm-gateway.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export const title = "LLM gateway added latency per request and per streamed chunk (loopback)"

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? Number.NaN
const median = (values: number[]) => percentile(values, 0.5)

const BODY = JSON.stringify({
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  stream: true,
  stream_options: { include_usage: true },
})

function timedRequest(agent: http.Agent, url: string, token: string): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      agent,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    })
    request.once("response", (response) => {
      response.resume()
      response.once("end", () => resolve(performance.now() - started))
    })
    request.once("error", reject)
    request.end(BODY)
  })
}

const CHUNKS = 20
const GAP_MS = 3

/** An OpenAI-compatible upstream that streams CHUNKS chunks, GAP_MS apart, each carrying its write time. */
async function startPacedUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    request.resume()
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    response.flushHeaders()
    let sent = 0
    const timer = setInterval(() => {
      if (sent === CHUNKS) {
        clearInterval(timer)
        response.end("data: [DONE]\n\n")
        return
      }
      sent++
      const chunk = {
        id: "paced",
        object: "chat.completion.chunk",
        created: 0,
        model: "m",
        choices: [{ index: 0, delta: { content: String(performance.now()) }, finish_reason: null }],
      }
      response.write(`data: ${JSON.stringify(chunk)}\n\n`)
    }, GAP_MS)
    response.once("close", () => clearInterval(timer))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Streams one completion and returns, per chunk, how long after its write it was read. */
function chunkLatencies(agent: http.Agent, url: string, token: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      agent,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    })
    request.once("response", (response) => {
      const latencies: number[] = []
      let pending = ""
      response.on("data", (data: Buffer) => {
        const now = performance.now()
        pending += data.toString("utf8")
        let end = pending.indexOf("\n\n")
        while (end !== -1) {
          const event = pending.slice(0, end)
          pending = pending.slice(end + 2)
          end = pending.indexOf("\n\n")
          if (!event.startsWith("data: {")) continue
          const parsed = JSON.parse(event.slice(6)) as { choices: { delta: { content: string } }[] }
          latencies.push(now - Number(parsed.choices[0]?.delta.content))
        }
      })
      response.once("end", () => resolve(latencies))
    })
    request.once("error", reject)
    request.end(BODY)
  })
}

async function perChunk(count: number): Promise<void> {
  const upstream = await startPacedUpstream()
  await using gateway = await startLlmGateway({
    provider: { providerName: "openai", setting: { baseUrl: upstream.url } },
    env: { OPENAI_API_KEY: "sk-bench" },
  })
  const token = gateway.issueToken("bench")
  const agent = new http.Agent({ keepAlive: true })
  const direct: number[] = []
  const through: number[] = []
  for (let i = -3; i < count; i++) {
    const a = await chunkLatencies(agent, upstream.url, "sk-bench")
    const b = await chunkLatencies(agent, gateway.url, token)
    if (i >= 0) {
      direct.push(...a)
      through.push(...b)
    }
  }
  agent.destroy()
  await upstream.close()
  const fmt = (value: number) => value.toFixed(3)
  process.stdout.write(
    `  per chunk (${direct.length} chunks each, ${GAP_MS} ms apart):\n` +
      `  direct   median ${fmt(median(direct))} ms  p95 ${fmt(percentile(direct, 0.95))} ms\n` +
      `  gateway  median ${fmt(median(through))} ms  p95 ${fmt(percentile(through, 0.95))} ms\n` +
      `  added    median ${fmt(median(through) - median(direct))} ms\n`,
  )
}

export async function run(runs: number): Promise<void> {
  const count = Math.max(runs, 50)
  await using llm = await startScriptedLlmServer({ apiKey: "sk-bench" })
  await using gateway = await startLlmGateway({
    provider: { providerName: "openai", setting: { baseUrl: llm.url } },
    env: { OPENAI_API_KEY: "sk-bench" },
  })
  const token = gateway.issueToken("bench")
  const agent = new http.Agent({ keepAlive: true })
  const direct: number[] = []
  const through: number[] = []
  const reply = { text: "a streamed answer of a few chunks", usage: { promptTokens: 5, completionTokens: 5 } }
  // Interleaved, after a warm-up, so both paths see the same machine state.
  for (let i = -10; i < count; i++) {
    llm.push(reply, reply)
    const a = await timedRequest(agent, llm.url, "sk-bench")
    const b = await timedRequest(agent, gateway.url, token)
    if (i >= 0) {
      direct.push(a)
      through.push(b)
    }
  }
  agent.destroy()
  const fmt = (value: number) => value.toFixed(2)
  process.stdout.write(
    `  per request (${count} requests each):\n  direct   median ${fmt(median(direct))} ms\n  gateway  median ${fmt(median(through))} ms\n  added    median ${fmt(median(through) - median(direct))} ms\n`,
  )
  await perChunk(Math.max(runs, 20))
}
