import { execFile } from "node:child_process"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace } from "../testing/job-harness.ts"

const exec = promisify(execFile)
const bin = path.resolve(import.meta.dirname, "bin.ts")
const recorder = path.resolve(import.meta.dirname, "../testing/fixtures/record-modules.mjs")

/** The packages (node_modules folders) the command loaded, sorted. */
async function packagesLoadedBy(cwd: string, args: readonly string[], env: Record<string, string> = {}) {
  const record = path.join(cwd, "modules.txt")
  await writeFile(record, "")
  await exec(process.execPath, ["--import", recorder, bin, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PERSTACK_RECORD_MODULES: record,
      ...env,
    },
  })
  const urls = (await readFile(record, "utf8")).split("\n")
  const packages = urls.flatMap((url) => {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
    return match?.[1] ? [match[1]] : []
  })
  return [...new Set(packages)].sort()
}

describe("the CLI loads only what its command needs", () => {
  it("perstack --version loads no dependency but the command-line parser", async () => {
    await using ws = await makeJobWorkspace()
    expect(await packagesLoadedBy(ws.dir, ["--version"])).toEqual(["commander"])
  })

  it("perstack run --sandbox local loads neither the Kubernetes nor the Docker client, nor the terminal UI, nor a provider's client", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ writer: [{ text: "done" }] })
    await writeFile(
      path.join(ws.dir, "perstack.toml"),
      configText(llm.url, `[experts."writer"]\ninstruction = "W."\n`),
    )
    const loaded = await packagesLoadedBy(
      ws.dir,
      ["run", "writer", "Go", "--sandbox", "local", "--max-retries", "0"],
      {
        OPENAI_API_KEY: "sk-test",
      },
    )
    expect(loaded).toContain("smol-toml")
    for (const heavy of [
      "@kubernetes/client-node",
      "dockerode",
      "ink",
      "react",
      "@modelcontextprotocol/sdk",
      // The providers' clients are the runtime's, in the sandbox: the gateway beside the orchestrator reads usage
      // without them.
      "openai",
      "@anthropic-ai/sdk",
    ]) {
      expect(loaded).not.toContain(heavy)
    }
  })
})
