// The anthropic provider through the gateway: Anthropic's own Messages API forwarded with the real key swapped in
// for the run's token, its usage (cache reads included) counted, and the key never in the sandbox.
import { describe, expect, it } from "vitest"
import { startScriptedAnthropicServer } from "../../runtime/testing/scripted-anthropic/scripted-anthropic-server.ts"
import { makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import { startLlmGateway } from "./llm-gateway.ts"

const KEY = "sk-ant-api03-Qw7Zr2Lm9Xv4Tn8Bk"
/** Prints every ANTHROPIC_API_KEY in the environments of its ancestors (the runtime's among them). */
const PRINT_KEYS = `
import { readFileSync } from "node:fs"
const found = []
let pid = process.ppid
while (pid > 0) {
  const environ = readFileSync("/proc/" + pid + "/environ", "utf8").split("\\0")
  found.push(...environ.filter((entry) => entry.startsWith("ANTHROPIC_API_KEY=")))
  pid = Number(/PPid:\\s+(\\d+)/.exec(readFileSync("/proc/" + pid + "/status", "utf8"))[1])
}
console.log("keys: " + JSON.stringify(found))`

const toml = (url: string) => `model = "claude-sonnet-4-5"
[provider]
providerName = "anthropic"
[provider.setting]
baseUrl = "${url}"

[experts."snoop"]
instruction = "Look around."
`

describe("the gateway for the anthropic provider", () => {
  it("forwards POST /v1/messages with the real key, counts Anthropic's usage, and keeps the key out", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [
        {
          thinking: "Look at the environment.",
          toolUses: [
            { name: "exec", input: { command: "node", args: ["--input-type=module", "-e", PRINT_KEYS] } },
          ],
          usage: { inputTokens: 40, cacheCreationInputTokens: 900, outputTokens: 20 },
        },
        {
          thinking: "Nothing more.",
          text: "I looked.",
          usage: { inputTokens: 30, cacheReadInputTokens: 900, outputTokens: 10 },
        },
      ],
    })
    const result = await runTestJob(ws, {
      toml: toml(llm.url),
      expertKey: "snoop",
      query: "go",
      settings: { gateway: true, reasoningBudget: "low" },
      env: { ANTHROPIC_API_KEY: KEY },
    })
    expect(llm.refusals).toEqual([])
    expect(result.status).toBe("completed")
    expect(llm.requests).toHaveLength(2)
    for (const request of llm.requests) {
      expect(request.path).toBe("/v1/messages")
      // The real key, from the gateway, where the run's token was (the SDK's Bearer); no x-api-key of the sandbox's.
      expect(request.headers.authorization).toBe(`Bearer ${KEY}`)
      expect(request.headers["x-api-key"]).toBeUndefined()
      expect(request.headers["anthropic-version"]).toBeTruthy()
      expect(JSON.stringify(request.body)).toContain('"cache_control":{"type":"ephemeral"}')
    }
    // The signed thinking went back through the gateway untouched.
    const second = llm.requests[1]?.body as { messages: Array<{ content: Array<{ type: string }> }> }
    expect(second.messages.at(-2)?.content[0]?.type).toBe("thinking")

    // The sandbox held a gateway token where the key would be, never the key.
    const all = JSON.stringify(result.events)
    expect(all).not.toContain(KEY.slice(4, 16))
    const printed = result.events.find((event) => event.type === "resolveToolResults")
    // Its token (redacted where it printed it), worth nothing beyond its run.
    expect(JSON.stringify(printed)).toMatch(/keys: .*ANTHROPIC_API_KEY=\[redacted:gateway-token\]/)

    // What the gateway counted from Anthropic's usage: input with the cache's reads and writes, cached the reads.
    const job = await ws.store.readJob(result.job.id)
    expect(job?.usage).toMatchObject({
      inputTokens: 940 + 930,
      cachedInputTokens: 900,
      outputTokens: 30,
      totalTokens: 940 + 930 + 30,
    })
  })

  it("takes the run's token in x-api-key too, never passes it on, and serves /v1/messages only for anthropic", async () => {
    await using llm = await startScriptedAnthropicServer({
      apiKey: KEY,
      steps: [{ text: "hi", usage: { inputTokens: 5, cacheReadInputTokens: 50, outputTokens: 3 } }],
    })
    await using gateway = await startLlmGateway({
      provider: { providerName: "anthropic", setting: { baseUrl: llm.url } },
      env: { ANTHROPIC_API_KEY: KEY },
    })
    const token = gateway.issueToken("run-1")
    const ask = (headers: Record<string, string>, url = gateway.url) =>
      fetch(`${url}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 100,
          stream: true,
          messages: [{ role: "user", content: "hi" }],
        }),
      })
    expect((await ask({ "x-api-key": "pgw-not-a-token" })).status).toBe(401)
    const answer = await ask({ "x-api-key": token })
    expect(answer.status).toBe(200)
    expect(await answer.text()).toContain("event: message_stop")
    expect(llm.requests).toHaveLength(1)
    expect(llm.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(JSON.stringify(llm.requests[0]?.headers)).not.toContain(token)
    gateway.revokeToken(token)
    expect(gateway.runUsage("run-1")).toMatchObject({
      inputTokens: 55,
      cachedInputTokens: 50,
      outputTokens: 3,
    })

    await using openai = await startLlmGateway({
      provider: { providerName: "openai", setting: { baseUrl: llm.url } },
      env: { OPENAI_API_KEY: KEY },
    })
    const other = openai.issueToken("run-2")
    expect((await ask({ authorization: `Bearer ${other}` }, openai.url)).status).toBe(404)
  })
})
