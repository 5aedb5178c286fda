import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import { effectiveBaseUrl, isLoopbackHost } from "./llm-endpoint.ts"

const env = { OPENAI_API_KEY: "sk-test" }

describe("isLoopbackHost", () => {
  it("knows every spelling of this machine, and nothing else", () => {
    for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "0.0.0.0", "[::]"]) {
      expect(isLoopbackHost(host)).toBe(true)
    }
    for (const host of ["api.example.com", "10.0.0.1", "host.docker.internal", "localhost.example.com"]) {
      expect(isLoopbackHost(host)).toBe(false)
    }
  })
})

describe("effectiveBaseUrl", () => {
  it("takes the RunSpec's override first, then the provider's variable", () => {
    const spec = buildRunSpec({ workspace: "/w", llmUrl: "https://api.example.com/v1" })
    expect(effectiveBaseUrl({ ...spec, llmBaseUrl: "http://127.0.0.1:4000/gw" }, env)).toBe(
      "http://127.0.0.1:4000/gw",
    )
    const ollama = { ...spec, provider: { providerName: "ollama" as const } }
    expect(effectiveBaseUrl(ollama, { OLLAMA_BASE_URL: "http://localhost:9999/v1" })).toBe(
      "http://localhost:9999/v1",
    )
  })
})
