// The built runtime loads @anthropic-ai/sdk only for the anthropic provider: an openai run never reads its chunk.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunSpec } from "../runtime/protocol/run-spec.ts"
import { buildRunSpec } from "../runtime/testing/run-spec-builder.ts"
import { startScriptedAnthropicServer } from "../runtime/testing/scripted-anthropic/scripted-anthropic-server.ts"
import { startScriptedLlmServer } from "../runtime/testing/scripted-llm/scripted-llm-server.ts"

const repo = path.resolve(import.meta.dirname, "..")
const runtime = path.join(repo, "dist/runtime/perstack-runtime.js")
const KEY = "sk-ant-lazy-0123456789"

/** Records every module of dist/runtime the process loads. */
const HOOK = `import { registerHooks } from "node:module"
import { appendFileSync } from "node:fs"
registerHooks({
  load(url, context, next) {
    if (url.includes("/dist/runtime/")) appendFileSync(process.env.LOAD_LOG, url.slice(url.lastIndexOf("/") + 1) + "\\n")
    return next(url, context)
  },
})
`

let dir: string
beforeAll(async () => {
  if (!existsSync(runtime)) throw new Error("dist/runtime is missing: run `npm run build` first")
  dir = await mkdtemp(path.join(tmpdir(), "perstack-lazy-"))
  await writeFile(path.join(dir, "hook.mjs"), HOOK)
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Runs the built runtime on the spec; the terminal event's type and the chunks it loaded. */
async function run(name: string, spec: RunSpec): Promise<{ terminal: string; loaded: string[] }> {
  const file = path.join(dir, `${name}.json`)
  const log = path.join(dir, `${name}.log`)
  await writeFile(file, JSON.stringify(spec))
  await writeFile(log, "")
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", path.join(dir, "hook.mjs"), runtime, file], {
      env: {
        PATH: process.env.PATH,
        OPENAI_API_KEY: "sk-openai-0123456789",
        ANTHROPIC_API_KEY: KEY,
        LOAD_LOG: log,
      },
      stdio: ["ignore", "pipe", "inherit"],
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk
    })
    child.once("error", reject)
    child.once("close", () => resolve(out))
  })
  const last = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { type?: string }
  return { terminal: last.type ?? "", loaded: (await readFile(log, "utf8")).trim().split("\n") }
}

describe("the runtime bundle", () => {
  it("reads the Anthropic SDK's chunk for the anthropic provider only", async () => {
    const chunks = path.join(repo, "dist/runtime/chunks")
    const names = (await readdir(chunks)).filter((name) => name.endsWith(".js"))
    const sdkChunks: string[] = []
    for (const name of names) {
      if ((await readFile(path.join(chunks, name), "utf8")).includes("Anthropic/JS")) sdkChunks.push(name)
    }
    expect(sdkChunks.length).toBeGreaterThan(0)

    await using openai = await startScriptedLlmServer({ steps: [{ text: "done" }] })
    const plain = await run("openai", buildRunSpec({ workspace: dir, llmUrl: openai.url }))
    expect(plain.terminal).toBe("completeRun")
    expect(plain.loaded.filter((name) => sdkChunks.includes(name))).toEqual([])

    await using anthropic = await startScriptedAnthropicServer({ apiKey: KEY, steps: [{ text: "done" }] })
    const spec = buildRunSpec({ workspace: dir, llmUrl: anthropic.url, model: "claude-sonnet-4-5" })
    const withSdk = await run("anthropic", {
      ...spec,
      provider: { providerName: "anthropic", setting: { baseUrl: anthropic.url } },
      reasoningBudget: "low",
    })
    expect(withSdk.terminal).toBe("completeRun")
    expect(withSdk.loaded.filter((name) => sdkChunks.includes(name))).not.toEqual([])
  })
})
