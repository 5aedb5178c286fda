import { readdir, readFile } from "node:fs/promises"
import http from "node:http"
import net, { type AddressInfo } from "node:net"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import { startLlmGateway } from "./llm-gateway.ts"
import { rateLimitPauseMs } from "./rate-limit-hold.ts"

const REAL_KEY = "sk-test-orchestrator-key"
const PROVIDER = { providerName: "openai" as const }

/** The environment of every process whose environment holds `needle`. */
async function environmentsHolding(needle: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue
    const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")
    if (environ.includes(needle)) found.push(environ)
  }
  return found
}

/** Every file under `dir`, read as text. */
async function allText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile())
  const texts = await Promise.all(
    files.map((file) => readFile(path.join(file.parentPath, file.name), "utf8")),
  )
  return texts.join("\n")
}

function post(url: string, token: string, body: unknown): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    })
    request.once("response", resolve)
    request.once("error", reject)
    request.end(JSON.stringify(body))
  })
}

async function bodyOf(response: http.IncomingMessage): Promise<string> {
  let out = ""
  for await (const chunk of response) out += chunk
  return out
}

const CHAT = { model: "m", messages: [{ role: "user", content: "hi" }], stream: true }

describe("the LLM gateway", () => {
  it("runs a job with the real key kept out of the sandbox's environment and the stored job", async () => {
    await using ws = await makeJobWorkspace()
    const sandboxEnvironments: string[] = []
    await using llm = await startScriptedLlmServer({
      apiKey: REAL_KEY,
      steps: [
        async () => {
          // The sandbox is running now, waiting on this answer: it holds its gateway token as its key.
          sandboxEnvironments.push(...(await environmentsHolding("OPENAI_API_KEY=pgw-")))
          return { text: "hello", usage: { promptTokens: 7, completionTokens: 3 } }
        },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, `[experts."solo"]\ninstruction = "Answer."\n`),
      expertKey: "solo",
      query: "hi",
      settings: { gateway: true },
    })
    expect(result.status).toBe("completed")
    expect(result.text).toBe("hello")
    expect(llm.requests[0]?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    expect(sandboxEnvironments.length).toBeGreaterThan(0)
    for (const environment of sandboxEnvironments) expect(environment).not.toContain(REAL_KEY)
    expect(JSON.stringify(result.events)).not.toContain(REAL_KEY)
    expect(await allText(ws.dir)).not.toContain(REAL_KEY)
  })

  it("listens on PERSTACK_GATEWAY_PORT when set (where NetworkPolicies name it), and refuses a bad one", async () => {
    await using ws = await makeJobWorkspace()
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as AddressInfo
        probe.close(() => resolve(free))
      })
    })
    const seen: string[] = []
    await using llm = await startScriptedLlmServer({
      steps: [
        async () => {
          // The sandbox's request came through the gateway: something answers on the port.
          seen.push(
            await new Promise<string>((resolve) => {
              const socket = net.connect(port, "127.0.0.1", () => resolve("open"))
              socket.on("error", (error) => resolve(error.message))
              socket.on("connect", () => socket.end())
            }),
          )
          return { text: "hello" }
        },
      ],
    })
    const toml = configText(llm.url, `[experts."solo"]\ninstruction = "Answer."\n`)
    const result = await runTestJob(ws, {
      toml,
      expertKey: "solo",
      query: "hi",
      settings: { gateway: true },
      env: { PERSTACK_GATEWAY_PORT: String(port) },
    })
    expect(result.status).toBe("completed")
    expect(seen).toEqual(["open"])
    await expect(
      runTestJob(ws, {
        toml,
        expertKey: "solo",
        settings: { gateway: true },
        env: { PERSTACK_GATEWAY_PORT: "80a" },
      }),
    ).rejects.toThrow(/PERSTACK_GATEWAY_PORT="80a": expected a port number/)
  })

  it("answers a run's acknowledgement poll once the event is stored, and 410 once the run has ended", async () => {
    await using gateway = await startLlmGateway({ provider: PROVIDER, env: { OPENAI_API_KEY: REAL_KEY } })
    const token = gateway.issueToken("run-1")
    const base = gateway.url.replace(/\/v1$/, "")
    const ask = (eventId: string, as = token) =>
      new Promise<number>((resolve, reject) => {
        http
          .get(
            `${base}/perstack/acks/${eventId}`,
            { headers: { authorization: `Bearer ${as}` } },
            (response) => {
              response.resume()
              resolve(response.statusCode ?? 0)
            },
          )
          .once("error", reject)
      })
    const waiting = ask("ev-1")
    await new Promise((resolve) => setTimeout(resolve, 50))
    gateway.acknowledge(token, "ev-1")
    expect(await waiting).toBe(200)
    // Stored before it was asked: at once.
    gateway.acknowledge(token, "ev-2")
    expect(await ask("ev-2")).toBe(200)
    expect(await ask("ev-1", "pgw-unknown")).toBe(401)
    const orphan = ask("ev-3")
    await new Promise((resolve) => setTimeout(resolve, 50))
    gateway.revokeToken(token)
    expect(await orphan).toBe(410)
  })

  it("stops a job at its token budget with a clear error", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        {
          toolCalls: [{ id: "h", name: "delegate__helper", arguments: { query: "help" } }],
          usage: { promptTokens: 40, completionTokens: 20 },
        },
        { text: "never reached" },
      ],
      helper: [{ text: "never reached" }],
    })
    const experts = `[budget]\ntotalTokens = 50\n\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
    const result = await runTestJob(ws, {
      toml: configText(llm.url, experts),
      expertKey: "lead",
      query: "go",
    })
    expect(result.status).toBe("stoppedByError")
    expect(result.error).toBe(
      "the job's token budget is spent: totalTokens 60 of 50 ([budget] in perstack.toml)",
    )
    // The run that was refused says why, in its own terminal event.
    const stopped = result.events.filter((event) => event.type === "stopRunByError")
    expect(stopped.map((event) => event.error.code)).toContain("budget.exceeded")
    expect(llm.requests).toHaveLength(1)

    // With the gateway turned off, nothing would count the tokens: the job is refused before it starts.
    await expect(
      runTestJob(ws, {
        toml: configText(llm.url, experts),
        expertKey: "lead",
        query: "go",
        settings: { gateway: false },
      }),
    ).rejects.toThrow("[budget] in perstack.toml is enforced by the LLM gateway, which is off")
    expect(llm.requests).toHaveLength(1)
  })

  it("streams chunk by chunk, and a token stops working once revoked", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "stall", afterChunks: 4 }, { text: "second" }, { text: "third" }],
    })
    await using gateway = await startLlmGateway({
      provider: { ...PROVIDER, setting: { baseUrl: llm.url } },
      env: { OPENAI_API_KEY: REAL_KEY },
    })
    const token = gateway.issueToken("run-1")
    // The provider stalls after four chunks: the client sees them before the answer ends, so nothing buffered.
    const stalled = await post(gateway.url, token, CHAT)
    let received = ""
    for await (const chunk of stalled) {
      received += chunk
      if ((received.match(/^data: /gm) ?? []).length >= 4) break
    }
    expect((received.match(/^data: /gm) ?? []).length).toBeGreaterThanOrEqual(4)

    const answered = await post(gateway.url, token, { ...CHAT, stream_options: { include_usage: true } })
    expect(answered.statusCode).toBe(200)
    expect(await bodyOf(answered)).toContain("second")
    expect(gateway.runUsage("run-1").totalTokens).toBeGreaterThan(0)

    gateway.revokeToken(token)
    const refused = await post(gateway.url, token, CHAT)
    expect(refused.statusCode).toBe(401)
    expect(await bodyOf(refused)).toContain("its run has ended")
    expect(await bodyOf(await post(gateway.url, "made-up", CHAT))).toContain("gateway.invalidToken")
  })

  it("holds every run's next request after the provider's 429, for the pause it asked", async () => {
    await using llm = await startScriptedLlmServer({
      steps: [
        { type: "error", status: 429, message: "slow down", headers: { "retry-after": "1" } },
        { text: "one" },
        { text: "two" },
      ],
    })
    await using gateway = await startLlmGateway({
      provider: { ...PROVIDER, setting: { baseUrl: llm.url } },
      env: { OPENAI_API_KEY: REAL_KEY },
    })
    const refused = await post(gateway.url, gateway.issueToken("run-1"), CHAT)
    expect(refused.statusCode).toBe(429)
    expect(refused.headers["retry-after"]).toBe("1")
    await bodyOf(refused)
    // Two other runs ask at once: neither reaches the provider before the second is over.
    const answers = await Promise.all(
      ["run-2", "run-3"].map(async (runId) =>
        bodyOf(await post(gateway.url, gateway.issueToken(runId), CHAT)),
      ),
    )
    expect(answers.join("")).toContain("one")
    expect(answers.join("")).toContain("two")
    const [first, ...held] = llm.requests
    expect(held).toHaveLength(2)
    for (const request of held) {
      expect(request.receivedAt - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(990)
    }
  })

  it("reads the pause a 429 asks for from retry-after-ms, retry-after seconds or date, capped at a minute", () => {
    const now = Date.parse("2026-11-21T12:00:00Z")
    expect(rateLimitPauseMs({ "retry-after-ms": "250", "retry-after": "9" }, now)).toBe(250)
    expect(rateLimitPauseMs({ "retry-after": "2" }, now)).toBe(2000)
    expect(rateLimitPauseMs({ "retry-after": "Sat, 21 Nov 2026 12:00:03 GMT" }, now)).toBe(3000)
    expect(rateLimitPauseMs({ "retry-after": "3600" }, now)).toBe(60_000)
    expect(rateLimitPauseMs({}, now)).toBe(1000)
  })
})
