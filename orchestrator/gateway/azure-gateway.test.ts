import http from "node:http"
import { describe, expect, it } from "vitest"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { startLlmGateway } from "./llm-gateway.ts"

const REAL_KEY = "azure-real-key"
const CHAT = { model: "gpt-5-mini", messages: [{ role: "user", content: "hi" }], stream: true }

function post(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    })
    request.once("response", (response) => {
      response.resume()
      response.once("end", () => resolve(response.statusCode ?? 0))
    })
    request.once("error", reject)
    request.end(JSON.stringify(CHAT))
  })
}

/** A run's request through the gateway to an Azure provider; returns what the provider received. */
async function throughGateway(setting: { apiVersion?: string; useDeploymentBasedUrls?: boolean }) {
  await using llm = await startScriptedLlmServer({ steps: [{ text: "hello" }] })
  await using gateway = await startLlmGateway({
    provider: {
      providerName: "azure-openai",
      setting: { baseUrl: `${new URL(llm.url).origin}/openai`, ...setting },
    },
    env: { AZURE_API_KEY: REAL_KEY },
  })
  expect(await post(gateway.url, gateway.issueToken("run-1", { model: "gpt-5-mini" }))).toBe(200)
  const [request] = llm.requests
  if (!request) throw new Error("no request reached the provider")
  return request
}

describe("the LLM gateway in front of Azure OpenAI", () => {
  it("forwards to the v1 path with api-version, swapping the run's token for the api-key header", async () => {
    const request = await throughGateway({ apiVersion: "2025-04-01-preview" })
    expect(request.path).toBe("/openai/v1/chat/completions?api-version=2025-04-01-preview")
    expect(request.headers["api-key"]).toBe(REAL_KEY)
    expect(request.headers.authorization).toBeUndefined()
  })

  it("with useDeploymentBasedUrls, forwards to the run's model's deployment", async () => {
    const request = await throughGateway({ apiVersion: "2024-10-21", useDeploymentBasedUrls: true })
    expect(request.path).toBe("/openai/deployments/gpt-5-mini/chat/completions?api-version=2024-10-21")
  })
})
