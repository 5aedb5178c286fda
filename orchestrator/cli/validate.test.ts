import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { main } from "./main.ts"

const repo = path.resolve(import.meta.dirname, "../..")

async function run(...argv: string[]) {
  let stdout = ""
  let stderr = ""
  const code = await main(argv, {
    cwd: repo,
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
  })
  return { code, stdout, stderr }
}

describe("perstack validate", () => {
  it("prints who delegates to whom as a tree and exits 0", async () => {
    const result = await run("validate", "--config", "examples/game-team/perstack.toml")
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(
      [
        `${path.join(repo, "examples/game-team/perstack.toml")}: valid, 4 Experts`,
        "ai-gaming: Game development team lead",
        "├─ @ai-gaming/level-designer: Designs dungeon layouts and game mechanics",
        "├─ @ai-gaming/programmer: Implements the game in TypeScript",
        "└─ @ai-gaming/tester: Tests the game and reports bugs",
        "",
      ].join("\n"),
    )
  })

  it("lists skills next to their Expert", async () => {
    const result = await run("validate", "--config", "examples/news-researcher/perstack.toml")
    expect(result.stdout).toContain(
      "news-researcher: Researches latest news on a topic  [skills: web-search (mcpStdioSkill)]",
    )
  })

  it("accepts upstream's create-expert perstack.toml as written, defaultModelTier included", async () => {
    const result = await run(
      "validate",
      "--config",
      "orchestrator/config/testdata/upstream-create-expert.toml",
    )
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("upstream-create-expert.toml: valid, 4 Experts\n")
    expect(result.stdout).toContain("├─ @create-expert/plan: Expands the user's request")
    expect(result.stdout).toContain("└─ @create-expert/verify: Runs the expert with a test query")
  })

  it("prints every problem on stderr and exits 1", async () => {
    const result = await run("validate", "--config", "orchestrator/config/testdata/many-problems.toml")
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    expect(result.stderr).toMatch(/10 problems found\n$/)
  })

  it("exits 2 on an unknown command or option", async () => {
    expect((await run("validate", "--nope")).code).toBe(2)
    expect((await run("frobnicate")).code).toBe(2)
  })

  it("draws a 5,000-Expert delegation cycle without overflowing, each Expert once, the cycle marked", () =>
    withCycle(async (file) => {
      const result = await run("validate", "--config", file)
      expect(result).toMatchObject({ code: 0, stderr: "" })
      const lines = result.stdout.trimEnd().split("\n")
      expect(lines[0]).toBe(`${file}: valid, 5000 Experts`)
      expect(lines).toHaveLength(1 + 5000 + 1)
      expect(lines.at(-1)).toBe("(depth 5000) └─ e0  (delegates back up: cycle)")
    }))

  it("shows a delegate that several Experts share once, and refers back to it", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "perstack-validate-"))
    try {
      const file = path.join(dir, "perstack.toml")
      await writeFile(
        file,
        ["lead", "a", "b", "shared"]
          .map((key) => {
            const delegates = key === "lead" ? '["a", "b"]' : key === "shared" ? "[]" : '["shared"]'
            return `[experts."${key}"]\ninstruction = "x"\ndelegates = ${delegates}\n`
          })
          .join("\n"),
      )
      const result = await run("validate", "--config", file)
      expect(result.stdout.split("\n").slice(1)).toEqual([
        "lead",
        "├─ a",
        "│  └─ shared",
        "└─ b",
        "   └─ shared  (see above)",
        "",
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("exits 0 quietly when its reader goes away (perstack validate | head -1)", () =>
    withCycle(async (file) => {
      const { status, stderr } = await pipedToHead([
        path.join(repo, "orchestrator/cli/bin.ts"),
        "validate",
        "--config",
        file,
      ])
      expect(stderr).toBe("")
      expect(status).toBe("0")
    }))
})

/** `node <args> | head -1` in a shell, as a user types it: the perstack process's exit status and its stderr. */
async function pipedToHead(args: string[]): Promise<{ status: string; stderr: string }> {
  const quoted = [process.execPath, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ")
  const child = spawn("bash", ["-c", `${quoted} | head -1 >/dev/null; echo "\${PIPESTATUS[0]}" >&3`], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  })
  let stderr = ""
  let status = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdio[3]?.on("data", (chunk: Buffer) => {
    status += chunk.toString()
  })
  await new Promise((resolve) => child.on("close", resolve))
  return { status: status.trim(), stderr }
}

/** A perstack.toml of 5,000 Experts, each delegating to the next, the last to the first. */
async function withCycle(test: (file: string) => Promise<void>) {
  const dir = await mkdtemp(path.join(tmpdir(), "perstack-validate-"))
  try {
    const file = path.join(dir, "perstack.toml")
    const experts = Array.from(
      { length: 5000 },
      (_, index) => `[experts."e${index}"]\ninstruction = "x"\ndelegates = ["e${(index + 1) % 5000}"]\n`,
    )
    await writeFile(file, experts.join("\n"))
    await test(file)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
