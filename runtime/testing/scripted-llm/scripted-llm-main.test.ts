// The scripted LLM CLI, run as its own process the way end-to-end tests run it.
import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { createInterface } from "node:readline"
import OpenAI from "openai"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"

const mainFile = path.join(import.meta.dirname, "scripted-llm-main.ts")
let folder = ""

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), "scripted-llm-"))
})
afterEach(async () => {
  await rm(folder, { recursive: true, force: true })
})

function startMain(args: string[]) {
  const child = spawn(process.execPath, [mainFile, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  const stderr: string[] = []
  child.stderr.setEncoding("utf8").on("data", (text: string) => stderr.push(text))
  const exited = once(child, "exit")
  return { child, stderr, exited }
}

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input: stream })
  for await (const line of lines) return line
  throw new Error("the process closed stdout without printing a line")
}

describe("scripted-llm-main", () => {
  it("prints its URL as one JSON line, serves the script, and stops on SIGTERM", async () => {
    const script = path.join(folder, "script.json")
    await writeFile(script, JSON.stringify([{ text: "from the CLI" }, { type: "error", status: 503 }]))
    const { child, stderr, exited } = startMain([script, "--port", "0", "--host", "127.0.0.1"])

    const { url } = z.strictObject({ url: z.url() }).parse(JSON.parse(await firstLine(child.stdout)))
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const client = new OpenAI({ apiKey: "test", baseURL: url, maxRetries: 0, logLevel: "off" })
    const completion = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(completion.choices[0]?.message.content).toBe("from the CLI")

    child.kill("SIGTERM")
    expect(await exited).toEqual([0, null])
    expect(stderr.join("")).toContain("SIGTERM: stopping with 1 step(s) unused")
  })

  it("refuses a script file that is not an array of replies, naming the file and the key path", async () => {
    const script = path.join(folder, "bad.json")
    await writeFile(script, JSON.stringify([{ text: "fine" }, { type: "stall", afterChunks: -1 }]))
    const { stderr, exited } = startMain([script])

    expect(await exited).toEqual([1, null])
    expect(stderr.join("")).toContain("bad.json is not an array of scripted replies")
    expect(stderr.join("")).toContain("at [1].afterChunks")
  })

  it("exits with 2 and the usage on a bad command line", async () => {
    const { stderr, exited } = startMain(["--port", "nope", "x.json"])
    expect(await exited).toEqual([2, null])
    expect(stderr.join("")).toContain("usage: node scripted-llm-main.ts SCRIPT.json")
  })
})
