// The built `perstack` binary, run as a user runs it: a separate process, from another working directory.
import { execFile } from "node:child_process"
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "dist", "perstack.js")
const exec = promisify(execFile)

async function perstack(cwd: string, ...args: string[]) {
  return exec(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? "" } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  )
}

describe("perstack validate (built binary)", () => {
  let workspace: string
  beforeAll(async () => {
    workspace = await mkdtemp(path.join(tmpdir(), "perstack-e2e-"))
    await cp(
      path.join(repo, "examples", "fitness-assistant", "perstack.toml"),
      path.join(workspace, "perstack.toml"),
    )
  })
  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true })
  })

  it("finds perstack.toml in the working directory and prints the delegation tree", async () => {
    const result = await perstack(workspace, "validate")
    expect(result).toMatchObject({ code: 0, stderr: "" })
    expect(result.stdout).toContain(
      "fitness-assistant: Assists users with their fitness journey\n└─ pro-trainer:",
    )
  })

  it("exits 1 and names the line of a broken file", async () => {
    const broken = path.join(workspace, "broken.toml")
    await writeFile(broken, '[experts."a"]\ninstruction = "x"\ndelegates = ["b"]\n')
    const result = await perstack(workspace, "validate", "--config", "broken.toml")
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      'broken.toml:3:1: experts."a".delegates[0]: delegate "b" is not defined in this file',
    )
  })

  it("prints its version and help", async () => {
    expect((await perstack(workspace, "--version")).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
    expect((await perstack(workspace, "--help")).stdout).toContain("validate")
  })
})
