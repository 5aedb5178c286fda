import { describe, expect, it } from "vitest"
import type { ProviderConfig } from "../protocol/config/provider.ts"
import { startScriptedLlmServer } from "../testing/scripted-llm/scripted-llm-server.ts"
import { createLlmClient } from "./generate.ts"
import { resolveProvider } from "./resolve-provider.ts"

type AzureSetting = Extract<ProviderConfig, { providerName: "azure-openai" }>["setting"]
const KEY = "azure-key-123"

/** One generation through the real client against the scripted server; returns the request it received. */
async function azureRequest(setting: (origin: string) => AzureSetting, env: Record<string, string> = {}) {
  await using llm = await startScriptedLlmServer({ steps: [{ text: "hello" }] })
  const origin = new URL(llm.url).origin
  const provider = resolveProvider({
    provider: { providerName: "azure-openai", setting: setting(origin) },
    env: { AZURE_API_KEY: KEY, ...env },
  })
  const client = createLlmClient({
    provider,
    model: "gpt-5-mini",
    reasoningBudget: "none",
    timeoutMs: 5_000,
    maxRetries: 0,
  })
  const generation = await client.generate({
    messages: [{ type: "userMessage", id: "m1", contents: [{ type: "textPart", id: "p1", text: "hi" }] }],
    tools: [],
  })
  expect(generation.text).toBe("hello")
  const [request] = llm.requests
  if (!request) throw new Error("no request reached the server")
  return request
}

describe("Azure OpenAI", () => {
  it("sends the v1 API's path with the apiVersion setting as api-version, and the key as api-key", async () => {
    const request = await azureRequest((origin) => ({
      baseUrl: `${origin}/openai`,
      apiVersion: "2025-04-01-preview",
    }))
    expect(request.path).toBe("/openai/v1/chat/completions?api-version=2025-04-01-preview")
    expect(request.headers["api-key"]).toBe(KEY)
    expect(request.headers.authorization).toBeUndefined()
    expect(request.body).toMatchObject({ model: "gpt-5-mini" })
  })

  it("with useDeploymentBasedUrls, names the deployment (the model) in the path", async () => {
    const request = await azureRequest((origin) => ({
      baseUrl: `${origin}/openai`,
      apiVersion: "2024-10-21",
      useDeploymentBasedUrls: true,
    }))
    expect(request.path).toBe("/openai/deployments/gpt-5-mini/chat/completions?api-version=2024-10-21")
  })

  it("takes api-version from AZURE_API_VERSION, else v1", async () => {
    const fromEnv = await azureRequest((origin) => ({ baseUrl: `${origin}/openai` }), {
      AZURE_API_VERSION: "2025-03-01-preview",
    })
    expect(fromEnv.path).toBe("/openai/v1/chat/completions?api-version=2025-03-01-preview")
    const byDefault = await azureRequest((origin) => ({ baseUrl: `${origin}/openai` }))
    expect(byDefault.path).toBe("/openai/v1/chat/completions?api-version=v1")
  })

  it("builds the prefix from resourceName, and through the gateway is plain OpenAI", () => {
    const direct = resolveProvider({
      provider: {
        providerName: "azure-openai",
        setting: { resourceName: "acme", useDeploymentBasedUrls: true },
      },
      env: { AZURE_API_KEY: KEY },
    })
    expect(direct.baseUrl).toBe("https://acme.openai.azure.com/openai")
    expect(direct.azure).toEqual({ apiVersion: "v1", deploymentBasedUrls: true })
    const viaGateway = resolveProvider({
      provider: { providerName: "azure-openai", setting: { resourceName: "acme", apiVersion: "2024-10-21" } },
      env: { AZURE_API_KEY: "pgw-token" },
      baseUrlOverride: "http://127.0.0.1:7000/v1",
    })
    expect(viaGateway.baseUrl).toBe("http://127.0.0.1:7000/v1")
    expect(viaGateway.azure).toBeUndefined()
  })
})
