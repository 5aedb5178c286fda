// Headless stays headless: `perstack run` and the library never load the terminal UI (Ink, React); only
// `perstack start` and the interactive `perstack log` do, through a chunk of their own.
import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const exec = promisify(execFile)
const repo = path.resolve(import.meta.dirname, "..")
const dist = path.dirname(process.env.PERSTACK_CLI ?? path.join(repo, "dist/perstack.js"))

// Reports every import of ink or react, whoever asks for it.
const HOOK = `data:text/javascript,${encodeURIComponent(`import { registerHooks } from "node:module"
registerHooks({ resolve(specifier, context, next) {
  if (/^(ink|react)(\\/|$)/.test(specifier)) process.stderr.write("UI LOADED: " + specifier + "\\n")
  return next(specifier, context)
} })`)}`

describe("the headless commands and the library", () => {
  let ws: string
  beforeAll(async () => {
    ws = await mkdtemp(path.join(tmpdir(), "perstack-headless-"))
    await writeFile(path.join(ws, "perstack.toml"), '[experts."writer"]\ninstruction = "Write."\n')
  })
  afterAll(async () => {
    await rm(ws, { recursive: true, force: true })
  })

  const stderrOf = async (args: string[]) => {
    const result = await exec(process.execPath, ["--import", HOOK, ...args], { cwd: ws }).catch(
      (error: { stderr: string }) => error,
    )
    return result.stderr
  }

  it("perstack --version, run --help, a run and log never load Ink or React", async () => {
    const cli = path.join(dist, "perstack.js")
    for (const args of [["--version"], ["run", "--help"], ["run", "nobody", "hi"], ["log"], ["start"]]) {
      expect(await stderrOf([cli, ...args]), args.join(" ")).not.toContain("UI LOADED")
    }
    await writeFile(
      path.join(ws, "lib.mjs"),
      `import { run } from ${JSON.stringify(path.join(dist, "index.js"))}\n`,
    )
    expect(await stderrOf([path.join(ws, "lib.mjs")])).not.toContain("UI LOADED")
  })

  it("the UI is a chunk of its own, which the hook sees loading Ink and React", async () => {
    const chunks = path.join(dist, "cli-chunks")
    const files = (await readdir(chunks)).filter((file) => file.endsWith(".js"))
    const texts = await Promise.all(files.map((file) => readFile(path.join(chunks, file), "utf8")))
    const ui = files.find((_, index) => /from "ink"/.test(texts[index] ?? ""))
    expect(ui).toBeDefined()
    expect(await readFile(path.join(dist, "perstack.js"), "utf8")).not.toMatch(/from "(ink|react)"/)
    expect(await stderrOf(["-e", `await import(${JSON.stringify(path.join(chunks, ui ?? ""))})`])).toContain(
      "UI LOADED: ink",
    )
  })
})
