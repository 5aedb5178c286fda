// The interactive `perstack log` in a real terminal (tmux): a past job browsed (jobs, its delegation tree, a run's
// checkpoints) and resumed from a checkpoint, against the scripted LLM.
import { execFile } from "node:child_process"
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastInput } from "../orchestrator/testing/expert-script.ts"
import { startGatedScript } from "./support/tui-script.ts"
import { startTmux, tmuxAvailable } from "./support/tui-tmux.ts"

const exec = promisify(execFile)
const repo = path.resolve(import.meta.dirname, "..")
/** the built CLI (node scripts/build.ts); PERSTACK_CLI points at another build */
const cli = process.env.PERSTACK_CLI ?? path.join(repo, "dist/perstack.js")
const haveTmux = tmuxAvailable()
if (!haveTmux) console.warn("tui-log tests skipped: tmux is not installed (apt-get install -y tmux)")

const PAIR = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

describe.skipIf(!haveTmux)("perstack log on a terminal", () => {
  let ws: string
  beforeAll(async () => {
    ws = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-tui-log-")))
    // The resumed job (started from the terminal UI, without flags) reads its settings from perstack.toml; the file
    // is not edited between the run and the resume, which would be refused as a changed input.
    await writeFile(
      path.join(ws, "perstack.toml"),
      `provider = { providerName = "openai-compatible" }\nmodel = "scripted-model"\nreasoningBudget = "none"\n${PAIR}`,
    )
  })
  afterAll(async () => {
    await rm(ws, { recursive: true, force: true })
  })

  it("browses a past job's tree and checkpoints, and resumes the coordinator from one", async () => {
    await using llm = await startGatedScript({
      lead: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "a.txt", text: "A" } }] },
        { toolCalls: [{ name: "delegate__worker", arguments: { query: "Write b.txt" } }] },
        { text: "All done." },
        (request) => ({ text: `Back at step 1, told: ${lastInput(request)}` }),
      ],
      worker: [{ text: "Worked." }],
    })
    const env = { OPENAI_COMPATIBLE_BASE_URL: llm.url, OPENAI_COMPATIBLE_API_KEY: "scripted" }
    const flags = [
      "--provider",
      "openai-compatible",
      "--model",
      "scripted-model",
      "--reasoning-budget",
      "none",
    ]
    await exec(process.execPath, [cli, "run", "lead", "Write and delegate", ...flags], {
      cwd: ws,
      env: { ...process.env, ...env },
    })
    // Piped, `perstack log` prints as before.
    const { stdout } = await exec(process.execPath, [cli, "log", "--tree"], { cwd: ws })
    expect(stdout).toContain("✓ lead (resumed)")

    await using term = await startTmux({ command: [process.execPath, cli, "log"], cwd: ws, env })
    let screen = await term.waitFor("Jobs · Enter: open")
    expect(screen).toMatch(/> ✓ lead · completed · 5 steps/)
    await term.keys("Enter")
    screen = await term.waitFor("Runs (lead)")
    expect(screen).toMatch(/> ⎇ lead "Write and delegate"/)
    expect(screen).toMatch(/\| ✓ worker "Write b.txt"/)
    expect(screen).toMatch(/✓ lead \(resumed\)/)
    await term.keys("Enter")
    screen = await term.waitFor("Checkpoints of lead")
    expect(screen).toMatch(/> step 1 · proceeding/)
    expect(screen).toMatch(/step 2 · stoppedByDelegate/)
    await term.keys("Enter")
    await term.waitFor(/Resume lead from step 1 of job \S+/)
    await term.type("only a, please")
    await term.keys("Enter")
    screen = await term.waitFor("Completed. Type a follow-up")
    expect(screen).toContain("Back at step 1, told: only a, please")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
    expect(await readFile(path.join(ws, "a.txt"), "utf8")).toBe("A")
  })
})
