// `perstack start` in a real terminal (tmux) against the scripted LLM: a person watching a delegation job live,
// answering an interactive question, following up, stopping with Ctrl-C.
import { cp, mkdtemp, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastInput } from "../orchestrator/testing/expert-script.ts"
import type { ScriptedLlmServer } from "../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { gate, startGatedScript } from "./support/tui-script.ts"
import { startTmux, tmuxAvailable } from "./support/tui-tmux.ts"

const repo = path.resolve(import.meta.dirname, "..")
/** the built CLI (node scripts/build.ts); PERSTACK_CLI points at another build */
const cli = process.env.PERSTACK_CLI ?? path.join(repo, "dist/perstack.js")
const haveTmux = tmuxAvailable()
if (!haveTmux) console.warn("tui-start tests skipped: tmux is not installed (apt-get install -y tmux)")

const ASKER = `[experts."asker"]
description = "Asks before acting"
instruction = "Ask before acting."

[experts."asker".skills."ask"]
type = "interactiveSkill"

[experts."asker".skills."ask".tools."confirm"]
description = "Ask the user to confirm"
inputJsonSchema = '{"type":"object","properties":{"question":{"type":"string"}},"required":["question"]}'
`

const usage = (prompt: number, cached: number, completion: number) => ({
  promptTokens: prompt,
  cachedTokens: cached,
  completionTokens: completion,
})

describe.skipIf(!haveTmux)("perstack start in a terminal", () => {
  let ws: string
  beforeAll(async () => {
    ws = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-tui-")))
  })
  afterAll(async () => {
    await rm(ws, { recursive: true, force: true })
  })

  const startArgs = (llm: ScriptedLlmServer) => ({
    env: { OPENAI_COMPATIBLE_BASE_URL: llm.url, OPENAI_COMPATIBLE_API_KEY: "scripted" },
    flags: ["--provider", "openai-compatible", "--model", "scripted-model", "--reasoning-budget", "none"],
  })

  it("shows the example team's delegation tree live, then the totals, and takes a follow-up", async () => {
    const dir = path.join(ws, "team")
    await cp(path.join(repo, "examples/game-team"), dir, { recursive: true })
    const programmer = gate()
    await using llm = await startGatedScript({
      "ai-gaming": [
        {
          reasoning: "Two parts: a level, then the code.",
          toolCalls: [
            { name: "delegate__ai-gaming__level-designer", arguments: { query: "Design floor 1" } },
            { name: "delegate__ai-gaming__programmer", arguments: { query: "Write the game loop" } },
          ],
          usage: usage(1200, 800, 60),
        },
        (request) => ({ text: `Done: ${lastInput(request).slice(0, 40)}`, usage: usage(1500, 1200, 40) }),
        { text: "Floor 2 is planned too.", usage: usage(1600, 1500, 20) },
      ],
      "@ai-gaming/level-designer": [{ text: "Floor 1: a maze of 9 rooms.", usage: usage(300, 0, 30) }],
      "@ai-gaming/programmer": [
        async () => {
          await programmer.opened
          return {
            reasoning: "A loop: read, update, draw.",
            text: "The loop is written.",
            usage: usage(400, 100, 50),
          }
        },
      ],
    })
    const { env, flags } = startArgs(llm)
    await using term = await startTmux({
      command: [process.execPath, cli, "start", "ai-gaming", "Build a dungeon crawler", ...flags],
      cwd: dir,
      env,
    })
    // The lead waits while one delegate is done and the other still works.
    await term.waitFor("✓ @ai-gaming/level-designer")
    let screen = await term.waitFor(/└ \S+ @ai-gaming\/programmer · scripted-model/)
    expect(screen).toMatch(/⏸ ai-gaming · scripted-model .*Waiting for delegates/)
    expect(screen).toContain("Query: Build a dungeon crawler")
    expect(screen).toMatch(/1 running · 1 waiting · \S+ · openai-compatible/)
    programmer.open()
    screen = await term.waitFor("Completed. Type a follow-up")
    expect(screen).toContain("✓ ai-gaming (resumed)")
    expect(screen).toContain("✓ @ai-gaming/programmer")
    // 1200 + 1500 + 300 + 400 in, 800 + 1200 + 0 + 100 of it cached, 60 + 40 + 30 + 50 out.
    expect(screen).toContain("Tokens: In 3.4k (Cached 2.1k, Cache Hit 61.76%) · Out 180")
    expect(screen).toMatch(/0 running · 0 waiting/)
    await term.type("And floor 2?")
    await term.keys("Enter")
    screen = await term.waitFor("Floor 2 is planned too.")
    await term.waitFor("Completed. Type a follow-up")
    expect(screen).toContain("Query: And floor 2?")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
  })

  it("asks the interactive tool's question, resumes with the answer, and stops cleanly on Ctrl-C", async () => {
    const dir = path.join(ws, "asker")
    await cp(path.join(repo, "examples/game-team"), dir, { recursive: true })
    await writeFile(path.join(dir, "perstack.toml"), ASKER)
    const hang = gate()
    await using llm = await startGatedScript({
      asker: [
        { toolCalls: [{ name: "ask__confirm", arguments: { question: "Delete the old saves?" } }] },
        (request) => ({ text: `The user said: ${lastInput(request)}` }),
        async () => {
          await hang.opened
          return { text: "never" }
        },
      ],
    })
    const { env, flags } = startArgs(llm)
    await using term = await startTmux({
      command: [process.execPath, cli, "start", "asker", "Clean up", ...flags],
      cwd: dir,
      env,
    })
    let screen = await term.waitFor("Answer:")
    expect(screen).toContain("asker asks (confirm): Delete the old saves?")
    expect(screen).toMatch(/\? asker · scripted-model/)
    await term.type("only the ones from 2020")
    await term.keys("Enter")
    screen = await term.waitFor("The user said: only the ones from 2020")
    await term.waitFor("Type a follow-up")
    // A follow-up whose model never answers: Ctrl-C stops it, and the job stays resumable.
    await term.type("Now the logs")
    await term.keys("Enter")
    await term.waitFor(/⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏/)
    await term.keys("C-c")
    screen = await term.waitFor("[exit 130]")
    expect(screen).toMatch(/job \S+ stopped; it stays resumable:\n\s+perstack start asker --continue-job \S+/)
    hang.open()
  })
})
