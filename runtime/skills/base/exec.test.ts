// exec through MCP: output, exit codes, the filtered environment, timeouts that kill the whole process group, caps.
import { access, mkdir, readFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { connectBaseSkill } from "./base-server.ts"
import { callTool, createTestWorkspace, runTool, type TestWorkspace } from "./test-workspace.ts"

let ws: TestWorkspace
let connection: Awaited<ReturnType<typeof connectBaseSkill>>
const exec = (args: Record<string, unknown>) => callTool(connection.client, "exec", args)

beforeEach(async () => {
  ws = await createTestWorkspace({ ANTHROPIC_API_KEY: "sk-secret", HOME: "/home/tester", LANG: "C.UTF-8" })
  connection = await connectBaseSkill(ws.context)
})
afterEach(async () => {
  await connection.close()
  await ws.cleanup()
})

/** alive unless gone or a zombie waiting to be reaped */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined)
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat)
}

describe("exec", () => {
  it("runs a command in the workspace and returns its output", async () => {
    const result = await exec({
      command: "bash",
      args: ["-c", 'echo "out $1"; echo err >&2; pwd', "_", "arg"],
    })
    expect(result).toMatchObject({
      isError: false,
      json: { exitCode: 0, stdout: `out arg\n${ws.workspace}\n`, stderr: "err\n" },
    })
  })

  it("runs in a cwd inside the workspace, and leaves out streams not asked for", async () => {
    await mkdir(path.join(ws.workspace, "sub"))
    const result = await exec({ command: "pwd", cwd: "sub", stderr: false })
    expect(result.json).toEqual({ exitCode: 0, stdout: `${path.join(ws.workspace, "sub")}\n` })
  })

  it("reports a non-zero exit as a normal result", async () => {
    const result = await exec({ command: "bash", args: ["-c", "echo failing >&2; exit 3"] })
    expect(result).toMatchObject({ isError: false, json: { exitCode: 3, stderr: "failing\n" } })
  })

  it("reports a command that cannot start, naming it", async () => {
    const result = await exec({ command: "no-such-command-xyz" })
    expect(result).toMatchObject({ isError: true, json: { error: "exec.commandNotFound" } })
    expect(String(result.json.message)).toContain("no-such-command-xyz")
  })

  it("refuses a protected variable, naming it", async () => {
    for (const name of ["LD_PRELOAD", "node_options", "BASH_ENV"]) {
      const result = await exec({ command: "true", env: { [name]: "x" } })
      expect(result, name).toMatchObject({ isError: true, json: { error: "exec.protectedEnv" } })
      expect(String(result.json.message)).toContain(name)
    }
  })

  it("passes only allowed sandbox variables plus the model's own", async () => {
    const result = await exec({ command: "env", env: { MY_FLAG: "on" } })
    const stdout = String(result.json.stdout)
    expect(stdout).not.toContain("sk-secret")
    expect(stdout).not.toContain("ANTHROPIC_API_KEY")
    expect(stdout).toContain("MY_FLAG=on")
    expect(stdout).toContain("HOME=/home/tester")
    expect(stdout).toContain("LANG=C.UTF-8")
  })

  it("kills the command and everything it started on timeout", async () => {
    const result = await exec({
      command: "bash",
      args: ["-c", "sleep 30 & echo $! > bg.pid; sleep 30"],
      timeout: 300,
    })
    expect(result).toMatchObject({ isError: false, json: { exitCode: null, timedOut: true } })
    expect(result.json.signal).toBeDefined()
    const backgroundPid = Number(await readFile(path.join(ws.workspace, "bg.pid"), "utf8"))
    expect(await isAlive(backgroundPid)).toBe(false)
  })

  it("returns when the command exits, though a background process still holds its output", async () => {
    const result = await exec({ command: "bash", args: ["-c", "sleep 30 & echo $! > bg.pid; echo done"] })
    expect(result.json).toMatchObject({ exitCode: 0, stdout: "done\n" })
    process.kill(Number(await readFile(path.join(ws.workspace, "bg.pid"), "utf8")), "SIGKILL")
  })

  it("stops when the run is aborted", async () => {
    const controller = new AbortController()
    const running = runTool(
      "exec",
      { command: "bash", args: ["-c", "touch started; sleep 30"] },
      { ...ws.context, signal: controller.signal },
    )
    // Abort only once the command runs, so the test does not depend on how fast it starts.
    while (
      !(await access(path.join(ws.workspace, "started")).then(
        () => true,
        () => false,
      ))
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    controller.abort()
    expect((await running).json).toMatchObject({ aborted: true, exitCode: null })
  })

  it("caps each stream and says how much was dropped", async () => {
    const result = await exec({
      command: "bash",
      args: ["-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo END"],
    })
    const stdout = String(result.json.stdout)
    expect(result.json.truncated).toEqual({ stdout: 3_000_004 - 1024 * 1024 })
    expect(stdout).toContain(`${3_000_004 - 1024 * 1024} bytes dropped`)
    expect(stdout.endsWith("END\n")).toBe(true)
    expect(stdout.length).toBeLessThan(1024 * 1024 + 100)
  })

  it("refuses a timeout over the maximum", async () => {
    const result = await exec({ command: "true", timeout: 600_001 })
    expect(result.isError).toBe(true)
  })
})
