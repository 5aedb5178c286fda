import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { parseConfigText } from "../config/load-config.ts"
import { RunEventScrubber } from "./event-scrubber.ts"
import { jobSecrets } from "./job-secrets.ts"
import { SecretScrubber } from "./secret-scrubber.ts"

const KEY = "sk-proj-Zx81Qm3v7TqLw2"
const scrubber = new SecretScrubber([
  { name: "OPENAI_API_KEY", value: KEY },
  { name: "DB_PASSWORD", value: 'pa"ss\\w/rd-99' },
])
const TOKEN = `pgw-${"A".repeat(20)}_${"b".repeat(22)}`

describe("the secret scrubber", () => {
  it("replaces each secret, as is and as JSON writes it, and the tokens the orchestrator mints", () => {
    expect(scrubber.scrub(`key=${KEY}; again ${KEY}`)).toBe(
      "key=[redacted:OPENAI_API_KEY]; again [redacted:OPENAI_API_KEY]",
    )
    const line = JSON.stringify({ text: `db 'pa"ss\\w/rd-99' and ${TOKEN}.` })
    expect(scrubber.scrub(line)).toBe(
      JSON.stringify({ text: "db '[redacted:DB_PASSWORD]' and [redacted:gateway-token]." }),
    )
    expect(scrubber.scrub(line.replace("w/rd", "w\\/rd"))).toContain("[redacted:DB_PASSWORD]")
    // A token's prefix alone, or a shorter run after it, is nothing.
    expect(scrubber.scrub("pgw-short and pgw-")).toBe("pgw-short and pgw-")
  })

  it("scrubs every string of a value and keeps what holds none as it was", () => {
    const clean = { a: [1, "x"], b: { c: "y" } }
    expect(scrubber.scrubValue(clean)).toBe(clean)
    const dirty = { a: [1, `the key ${KEY}`], b: clean.b }
    const scrubbed = scrubber.scrubValue(dirty)
    expect(scrubbed).toEqual({ a: [1, "the key [redacted:OPENAI_API_KEY]"], b: { c: "y" } })
    expect(scrubbed.b).toBe(clean.b)
  })

  it("masks a secret halved by a fragment's cut: its start at the end, its end at the start", () => {
    expect(scrubber.scrubFragment(`error: bad key ${KEY.slice(0, 10)}`, { end: true })).toBe(
      "error: bad key [redacted:OPENAI_API_KEY]",
    )
    expect(scrubber.scrubFragment(`${KEY.slice(6)} was refused`, { start: true })).toBe(
      "[redacted:OPENAI_API_KEY] was refused",
    )
    // Fewer than four characters are no telling part of it, and text that only looks alike is left.
    expect(scrubber.scrubFragment("ends with sk-", { end: true })).toBe("ends with sk-")
    expect(scrubber.scrubFragment("Lw2 starts", { start: true })).toBe("Lw2 starts")
    expect(scrubber.scrubFragment(`token ${TOKEN.slice(0, 12)}`, { end: true })).toBe(
      "token [redacted:gateway-token]",
    )
  })
})

describe("a job's secrets", () => {
  it("are every provider's key, apiKeyEnv, credential headers and requiredEnv values, none shorter than 8 nor a plain word", () => {
    const { config } = parseConfigText(
      `[experts."a"]
instruction = "x"
[experts."a".skills."gh"]
type = "mcpStdioSkill"
command = "gh-mcp"
requiredEnv = ["GITHUB_TOKEN", "GH_REGION"]
`,
      "perstack.toml",
    )
    const secrets = jobSecrets({
      config,
      provider: {
        providerName: "openai-compatible",
        setting: {
          baseUrl: "http://llm.internal/v1",
          apiKeyEnv: "MY_LLM_KEY",
          headers: { "x-api-key": "hk-1234567890", "x-version": "2024-01-01" },
        },
      } as never,
      env: {
        MY_LLM_KEY: "my-llm-key-0001",
        ANTHROPIC_API_KEY: "sk-ant-0000000",
        OPENAI_API_KEY: "short",
        // A placeholder a local model server ignores, or a word: redacted, it would garble "scripted-model".
        GEMINI_API_KEY: "scripted",
        GITHUB_TOKEN: "ghp_0123456789",
        GH_REGION: "eu",
        PATH: "/usr/bin:/bin",
      },
    })
    expect(secrets).toEqual([
      { name: "ANTHROPIC_API_KEY", value: "sk-ant-0000000" },
      { name: "MY_LLM_KEY", value: "my-llm-key-0001" },
      { name: "header:x-api-key", value: "hk-1234567890" },
      { name: "GITHUB_TOKEN", value: "ghp_0123456789" },
    ])
  })
})

/** What the run's scrubber makes of a line: itself when it holds no secret. */
const scrubbed = (events: RunEventScrubber, event: PerstackEvent, text: string) =>
  events.line(event, text) ?? { event, text }

const base = { protocolVersion: 1, jobId: "j", runId: "r", expertKey: "e", stepNumber: 1, timestamp: 1 }
const delta = (id: string, type: "streamRunResult" | "streamReasoning", text: string) =>
  ({ ...base, id, type, delta: text }) as PerstackEvent

describe("a run's event scrubber", () => {
  it("finds a secret spelled with \\u escapes, as a reader of the stored line would get it", () => {
    const events = new RunEventScrubber(scrubber)
    const event = { ...base, id: "e1", type: "completeStreamingRunResult", text: `the key ${KEY}` }
    const text = JSON.stringify(event).replace("sk-proj", "\\u0073k-pr\\u006fj")
    const clean = scrubbed(events, event as PerstackEvent, text)
    expect(clean.text).not.toContain("\\u0073")
    expect(JSON.parse(clean.text).text).toBe("the key [redacted:OPENAI_API_KEY]")
    expect((clean.event as { text: string }).text).toBe("the key [redacted:OPENAI_API_KEY]")
    // Control characters escaped as JSON.stringify does leave the line as printed.
    const colored = { ...event, text: "\u001b[31mred\u001b[0m" }
    const same = scrubbed(events, colored as PerstackEvent, JSON.stringify(colored))
    expect(same.event).toBe(colored)
  })

  it("keeps a line that would not parse once rewritten valid: a secret outside a string re-serialises it", () => {
    const numeric = new RunEventScrubber(new SecretScrubber([{ name: "PIN", value: "12345678" }]))
    const event = { ...base, stepNumber: 12345678, id: "e2", type: "startStreamingRunResult" }
    const clean = scrubbed(numeric, event as PerstackEvent, JSON.stringify(event))
    expect(clean.event).toEqual(event)
    expect(() => JSON.parse(clean.text)).not.toThrow()
  })

  it("keeps each stream's deltas apart: a secret spread over reasoning and result deltas is not joined", () => {
    const events = new RunEventScrubber(scrubber)
    const out = [
      scrubbed(events, delta("1", "streamReasoning", "sk-proj-Zx"), ""),
      scrubbed(events, delta("2", "streamRunResult", "hello"), ""),
      scrubbed(events, delta("3", "streamReasoning", "81Qm3v7TqLw2 done"), ""),
    ].map(({ event }) => (event as { delta: string }).delta)
    expect(out).toEqual(["", "hello", "[redacted:OPENAI_API_KEY] done"])
  })
})
