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
})
