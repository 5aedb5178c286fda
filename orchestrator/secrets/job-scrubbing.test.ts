// The job's secrets never reach what the orchestrator stores or streams: checked on the store's files and on what
// `perstack run` prints, with a real runtime talking to a provider that echoes the key, and with a hostile sandbox.
import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText } from "../testing/job-harness.ts"
import { MIN_PARTIAL } from "./secret-scrubber.ts"

const KEY = "sk-Q7f2Lx9WmZ4kTqR8vB3n"
const PASSWORD = 'Pw"Z8q-K3v!7'
const TOOLS_SERVER = path.resolve(import.meta.dirname, "../../runtime/testing/mcp-servers/tools-server.ts")

/** Every piece of the secret MIN_PARTIAL characters long: none may show anywhere. */
const pieces = (secret: string) =>
  Array.from({ length: secret.length - MIN_PARTIAL + 1 }, (_, at) => secret.slice(at, at + MIN_PARTIAL))

function expectNoSecret(text: string, where: string) {
  for (const secret of [KEY, PASSWORD, JSON.stringify(PASSWORD).slice(1, -1)]) {
    for (const piece of pieces(secret)) {
      const at = text.indexOf(piece)
      expect(at === -1 ? "" : text.slice(Math.max(0, at - 60), at + 60), `${where} holds "${piece}"`).toBe("")
    }
  }
}

/** Every file of the job store, read as text. */
async function storeText(dir: string): Promise<string> {
  const root = path.join(dir, "perstack")
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile())
  const texts = await Promise.all(
    files.map((file) => readFile(path.join(file.parentPath, file.name), "utf8")),
  )
  return texts.join("\n")
}

async function withWorkspace(test: (dir: string) => Promise<void>) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-secrets-")))
  try {
    await test(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe("secrets in what a job stores and streams", () => {
  it("scrubs a key the provider echoes, streamed three characters at a time, and secrets in tool results", () =>
    withWorkspace(async (dir) => {
      await writeFile(path.join(dir, "notes.txt"), `the key is ${KEY}\n`)
      await using llm = await startExpertScript({
        solo: [
          {
            reasoning: `I should look at ${KEY} first`,
            chunkSize: 3,
            toolCalls: [
              { name: "exec", arguments: { command: "cat", args: ["notes.txt"] } },
              { name: "tools__environment", arguments: {} },
            ],
          },
          { toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
          { text: `Your key: ${KEY}. Your password: ${PASSWORD}.`, reasoning: `again ${KEY}`, chunkSize: 3 },
        ],
      })
      const experts = `[experts."solo"]
instruction = "Answer."
[experts."solo".skills."tools"]
type = "mcpStdioSkill"
command = "node"
args = [${JSON.stringify(TOOLS_SERVER)}]
requiredEnv = ["DB_PASSWORD"]
`
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, experts))
      const result = await perstackCli(dir, ["run", "solo", "go", "--verbose", "--no-gateway"], {
        OPENAI_API_KEY: KEY,
        DB_PASSWORD: PASSWORD,
      })
      expect(result.code, result.stderr).toBe(0)
      // The provider did see the key (the sandbox had it), and answered with it.
      expect(llm.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
      expectNoSecret(result.stdout, "perstack run's stdout")
      expectNoSecret(result.stderr, "perstack run's stderr")
      expectNoSecret(await storeText(dir), "the job store")

      const events = result.events()
      const answer = events.find((event) => event.type === "completeRun")
      expect(answer?.type === "completeRun" && answer.text).toBe(
        "Your key: [redacted:OPENAI_API_KEY]. Your password: [redacted:DB_PASSWORD].",
      )
      // The deltas put together read as the answer, but for the first characters of a secret (fewer than
      // MIN_PARTIAL) that went out before they could be told from plain text.
      const streamed = events.flatMap((event) => (event.type === "streamRunResult" ? [event.delta] : []))
      expect(streamed.length).toBeGreaterThan(10)
      expect(streamed.join("").replace(/(?:s|sk|sk-|P|Pw|Pw")(?=\[redacted:)/g, "")).toBe(
        answer?.type === "completeRun" ? answer.text : "",
      )
      const results = JSON.stringify(events.filter((event) => event.type === "resolveToolResults"))
      expect(results).toContain("the key is [redacted:OPENAI_API_KEY]")
      expect(results).toContain("[redacted:DB_PASSWORD]")
    }))

  it("scrubs a hostile sandbox's bad lines, escaped spellings, streamed key, stderr and crash report", () =>
    withWorkspace(async (dir) => {
      await writeFile(path.join(dir, "perstack.toml"), `[experts."solo"]\ninstruction = "Leak."\n`)
      const result = await perstackCli(
        dir,
        ["run", "solo", "go", "--verbose", "--no-gateway", "--crash-retries", "0", "--provider", "openai"],
        {
          OPENAI_API_KEY: KEY,
          PERSTACK_RUNTIME_ENTRY: path.resolve(import.meta.dirname, "../testing/fixtures/leaky-runtime.ts"),
        },
      )
      expect(result.code).toBe(1)
      expectNoSecret(result.stdout, "perstack run's stdout")
      expectNoSecret(result.stderr, "perstack run's stderr")
      const stored = await storeText(dir)
      expectNoSecret(stored, "the job store")

      const events = result.events()
      const rejected = events.flatMap((event) => (event.type === "outputRejected" ? [event.sample] : []))
      expect(rejected[0]).toBe("not even JSON: [redacted:OPENAI_API_KEY]")
      expect(rejected[1]).toContain('"key":"[redacted:OPENAI_API_KEY]"')
      const escaped = events.find((event) => event.type === "skillStderr")
      expect(escaped?.type === "skillStderr" && escaped.message).toBe("[redacted:OPENAI_API_KEY]")
      expect(stored).toContain('"message":"[redacted:OPENAI_API_KEY]"')
      expect(rejected[2]).toContain('"message":"[redacted:OPENAI_API_KEY]"')
      const deltas = events.flatMap((event) => (event.type === "streamRunResult" ? [event.delta] : []))
      expect(deltas.join("")).toMatch(/^the key is (?:s|sk|sk-)?\[redacted:OPENAI_API_KEY\]!$/)
      // --verbose passes stderr on, scrubbed across its chunks.
      expect(result.stderr).toContain("[redacted:OPENAI_API_KEY] now")
      // The crash report holds the end of stderr, which starts and ends in the middle of the key.
      const exited = events.find((event) => event.type === "sandboxExited")
      const tail = exited?.type === "sandboxExited" ? (exited.stderrTail ?? "") : ""
      expect(tail.startsWith("[redacted:OPENAI_API_KEY]xxx")).toBe(true)
      expect(tail.endsWith("bye [redacted:OPENAI_API_KEY]")).toBe(true)
      const stop = events.find((event) => event.type === "stopRunByError")
      expect(stop?.type === "stopRunByError" && stop.error.message).toContain("bye [redacted:OPENAI_API_KEY]")
      expect(stored).toContain("bye [redacted:OPENAI_API_KEY]")
    }))
})
