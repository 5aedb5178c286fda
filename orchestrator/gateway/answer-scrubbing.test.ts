// A provider's answer that echoes the key the gateway sent it never gives the key to the sandbox.
import http from "node:http"
import { describe, expect, it } from "vitest"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { startLlmGateway } from "./llm-gateway.ts"

const KEY = "sk-proj-Zq81Xv3m7TqLw2Hn"

function post(url: string, token: string, body: object): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    })
    request.once("response", async (response) => {
      let text = ""
      for await (const chunk of response) text += chunk
      resolve({ status: response.statusCode ?? 0, text })
    })
    request.once("error", reject)
    request.end(JSON.stringify(body))
  })
}

const CHAT = { model: "m", messages: [{ role: "user", content: "which key?" }] }
const echoed = (request: { headers: Record<string, string> }) => request.headers.authorization?.slice(7) ?? ""

describe("the gateway's answers", () => {
  it("carry no key the provider echoes: not in an error, a completion or a stream", async () => {
    await using llm = await startScriptedLlmServer({
      apiKey: KEY,
      steps: [
        (request) => ({
          type: "error",
          status: 401,
          message: `Incorrect API key provided: ${echoed(request)}`,
        }),
        (request) => ({ text: `You sent ${echoed(request)}.` }),
        (request) => ({ text: `You sent ${echoed(request)} again.`, chunkSize: 1000 }),
      ],
    })
    await using gateway = await startLlmGateway({
      provider: { providerName: "openai", setting: { baseUrl: llm.url } },
      env: { OPENAI_API_KEY: KEY },
    })
    const token = gateway.issueToken("run-1")
    const refused = await post(gateway.url, token, CHAT)
    expect(refused.status).toBe(401)
    expect(JSON.parse(refused.text).error.message).toBe(
      "Incorrect API key provided: [redacted:OPENAI_API_KEY]",
    )
    const whole = await post(gateway.url, token, CHAT)
    expect(JSON.parse(whole.text).choices[0].message.content).toBe("You sent [redacted:OPENAI_API_KEY].")
    const streamed = await post(gateway.url, token, { ...CHAT, stream: true })
    expect(streamed.text).toContain('"content":"You sent [redacted:OPENAI_API_KEY] again."')
    for (const text of [refused.text, whole.text, streamed.text]) expect(text).not.toContain(KEY.slice(0, 8))
    // The provider did get the key.
    expect(llm.requests.every((request) => request.headers.authorization === `Bearer ${KEY}`)).toBe(true)
  })
})
