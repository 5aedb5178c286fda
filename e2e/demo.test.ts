// The README's main job (`make demo` without a provider key), run as a user runs it: the built CLI, real processes.
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")
const exec = promisify(execFile)

describe("make demo (recorded conversation)", () => {
  it("runs the fitness assistant and its delegate in separate sandboxes and writes fitness-log.md", async () => {
    const workspace = await mkdtemp(path.join(tmpdir(), "perstack-demo-"))
    try {
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PERSTACK_DEMO_WORKSPACE: workspace,
      }
      const { stdout } = await exec(process.execPath, [path.join(repo, "scripts/demo.ts")], {
        cwd: repo,
        env,
      })
      expect(stdout).toContain("No provider key found")
      expect(stdout).toMatch(/\[fitness-assistant\]\s+starts in sandbox pid:\d+/)
      expect(stdout).toMatch(/\[pro-trainer\]\s+starts in sandbox pid:\d+/)
      expect(stdout).toContain("[pro-trainer]        answers: Today's menu (45 min)")
      const log = await readFile(path.join(workspace, "fitness-log.md"), "utf8")
      expect(log).toContain("- Session started. Goal: full-body strength, 45 minutes.")
      expect(log).toContain("- Menu from pro-trainer: goblet squats 4x8")
    } finally {
      await rm(workspace, { recursive: true, force: true })
    }
  })
})
