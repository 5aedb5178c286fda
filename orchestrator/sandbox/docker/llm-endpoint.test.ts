import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import { containerLlmBaseUrl } from "./llm-endpoint.ts"

const env = { OPENAI_API_KEY: "sk-test" }

describe("containerLlmBaseUrl", () => {
  it("points a loopback endpoint at the host, keeping port and path", () => {
    for (const host of ["127.0.0.1", "localhost", "[::1]"]) {
      const spec = buildRunSpec({ workspace: "/w", llmUrl: `http://${host}:8080/v1` })
      expect(containerLlmBaseUrl(spec, env)).toBe("http://host.docker.internal:8080/v1")
    }
  })

  it("leaves a remote endpoint alone", () => {
    const spec = buildRunSpec({ workspace: "/w", llmUrl: "https://api.example.com/v1" })
    expect(containerLlmBaseUrl(spec, env)).toBeUndefined()
  })

  it("follows the URL the runtime would use: the RunSpec's override, then the provider's variable", () => {
    const spec = buildRunSpec({ workspace: "/w", llmUrl: "https://api.example.com/v1" })
    expect(containerLlmBaseUrl({ ...spec, llmBaseUrl: "http://127.0.0.1:4000/gw" }, env)).toBe(
      "http://host.docker.internal:4000/gw",
    )
    const ollama = { ...spec, provider: { providerName: "ollama" as const } }
    expect(containerLlmBaseUrl(ollama, {})).toBe("http://host.docker.internal:11434/v1")
    expect(containerLlmBaseUrl(ollama, { OLLAMA_BASE_URL: "http://localhost:9999/v1" })).toBe(
      "http://host.docker.internal:9999/v1",
    )
  })
})
