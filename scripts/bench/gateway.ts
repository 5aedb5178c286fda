// Benchmark: latency the LLM gateway adds to one streamed chat completion against the scripted server on loopback,
// gateway vs direct, request sent to last byte received. Target: under 2 ms median.
import http from "node:http"
import { startLlmGateway } from "../../orchestrator/gateway/llm-gateway.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export const title = "LLM gateway added latency per request (streamed completion, loopback)"

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

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
    `  direct   median ${fmt(median(direct))} ms\n  gateway  median ${fmt(median(through))} ms\n  added    median ${fmt(median(through) - median(direct))} ms  (${count} requests each)\n`,
  )
}
