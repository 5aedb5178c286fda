import { describe, expect, it } from "vitest"
import type { ProviderConfig } from "../protocol/config/provider.ts"
import { resolveProvider } from "./resolve-provider.ts"

const resolve = (provider: ProviderConfig, env: Record<string, string> = {}) =>
  resolveProvider({ provider, env })

describe("provider presets", () => {
  it.each([
    ["openai", "OPENAI_API_KEY", "https://api.openai.com/v1"],
    ["anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com"],
    ["google", "GOOGLE_GENERATIVE_AI_API_KEY", "https://generativelanguage.googleapis.com/v1beta/openai/"],
    ["deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"],
    ["fireworks", "FIREWORKS_API_KEY", "https://api.fireworks.ai/inference/v1"],
    ["openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"],
    ["groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"],
    ["together", "TOGETHER_API_KEY", "https://api.together.xyz/v1"],
    ["mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"],
  ] as const)("%s reads %s and defaults to %s", (providerName, variable, baseUrl) => {
    const resolved = resolve({ providerName }, { [variable]: "key-123" })
    expect(resolved).toMatchObject({ apiKey: "key-123", baseUrl })
    expect(() => resolve({ providerName })).toThrow(`${variable}`)
  })

  it("names the variable when the key is missing", () => {
    expect(() => resolve({ providerName: "anthropic" })).toThrow(
      'ANTHROPIC_API_KEY is not set: provider "anthropic" needs an API key in the environment (or in .env)',
    )
    expect(() => resolve({ providerName: "fireworks" }, { FIREWORKS_API_KEY: "  " })).toThrow(
      "FIREWORKS_API_KEY is not set",
    )
  })

  it("takes the base URL from [provider.setting], then <PROVIDER>_BASE_URL, then the default", () => {
    const env = { OPENAI_API_KEY: "k", OPENAI_BASE_URL: "https://proxy.example.com/v1" }
    expect(resolve({ providerName: "openai" }, env).baseUrl).toBe("https://proxy.example.com/v1")
    expect(
      resolve({ providerName: "openai", setting: { baseUrl: "https://setting.example.com/v1" } }, env)
        .baseUrl,
    ).toBe("https://setting.example.com/v1")
    expect(
      resolveProvider({
        provider: { providerName: "openai" },
        env,
        baseUrlOverride: "http://127.0.0.1:7000/v1",
      }).baseUrl,
    ).toBe("http://127.0.0.1:7000/v1")
  })

  it("passes headers and OpenAI's organization and project", () => {
    const resolved = resolve(
      {
        providerName: "openai",
        setting: { headers: { "x-team": "a" }, organization: "org-1", project: "p-1" },
      },
      { OPENAI_API_KEY: "k" },
    )
    expect(resolved).toMatchObject({ headers: { "x-team": "a" }, organization: "org-1", project: "p-1" })
  })

  it("builds Azure's URL from the resource name", () => {
    expect(
      resolve({ providerName: "azure-openai", setting: { resourceName: "acme" } }, { AZURE_API_KEY: "k" })
        .baseUrl,
    ).toBe("https://acme.openai.azure.com/openai/v1")
    expect(() => resolve({ providerName: "azure-openai" }, { AZURE_API_KEY: "k" })).toThrow("resourceName")
  })

  it("needs no key for ollama, and a base URL for openai-compatible", () => {
    expect(resolve({ providerName: "ollama" }).baseUrl).toBe("http://localhost:11434/v1")
    expect(() => resolve({ providerName: "openai-compatible" })).toThrow("OPENAI_COMPATIBLE_BASE_URL")
    const custom = resolve(
      {
        providerName: "openai-compatible",
        setting: { baseUrl: "https://llm.example.com/v1", apiKeyEnv: "MY_KEY" },
      },
      { MY_KEY: "secret" },
    )
    expect(custom).toMatchObject({ baseUrl: "https://llm.example.com/v1", apiKey: "secret" })
  })

  it("refuses providers without an OpenAI-compatible endpoint, saying what to do", () => {
    expect(() => resolve({ providerName: "amazon-bedrock" })).toThrow(/openai-compatible/)
  })
})
