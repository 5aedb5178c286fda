import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import { RUNTIME_SOURCE } from "../../testing/job-harness.ts"
import { describeBackendContract } from "../backend-contract.ts"
import { createLocalBackend } from "./local-backend.ts"

const workspace = async () => {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-local-")))
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

describeBackendContract("local", async () => ({
  backend: createLocalBackend({ runtimeEntry: RUNTIME_SOURCE }),
  workspace,
  llmHost: "127.0.0.1",
  llmUrlFor: (url) => url,
}))

describe("local backend", () => {
  it("kills a sandbox that ignores SIGTERM after the grace period, and everything it started", async () => {
    await using ws = await workspace()
    const stubborn = path.join(ws.dir, "stubborn.mjs")
    // Ignores SIGTERM and leaves a grandchild in a session of its own, as exec does.
    await writeFile(
      stubborn,
      `import { spawn } from "node:child_process"
process.on("SIGTERM", () => {})
const child = spawn("sleep", ["60"], { detached: true, stdio: "ignore" })
console.error("grandchild " + child.pid)
setInterval(() => {}, 1000)`,
    )
    const sandbox = await createLocalBackend({ runtimeEntry: stubborn }).start({
      spec: buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" }),
      env: { PATH: process.env.PATH ?? "" },
      workspace: ws.dir,
      labels: { jobId: "j", runId: "r" },
    })
    // Give it time to start its grandchild.
    await new Promise((resolve) => setTimeout(resolve, 500))
    await sandbox.stop({ graceMs: 200 })
    const exit = await sandbox.wait()
    expect(exit).toMatchObject({ signal: "SIGKILL", reason: "cancelled" })
    const grandchild = Number(/grandchild (\d+)/.exec(exit.stderrTail)?.[1])
    expect(grandchild).toBeGreaterThan(0)
    // Gone, or a zombie waiting for init to reap it: either way no longer running.
    const state = await readFile(`/proc/${grandchild}/stat`, "utf8").then(
      (stat) => stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3),
      () => "gone",
    )
    expect(["gone", "Z", "X"]).toContain(state)
  })

  it("keeps what the runtime printed before anyone read its stdout, up to the last byte", async () => {
    await using ws = await workspace()
    const quick = path.join(ws.dir, "quick.mjs")
    // Prints and exits at once, well before the reader below attaches.
    await writeFile(quick, `process.stdout.write("x".repeat(300_000) + "\\nend\\n")`)
    const sandbox = await createLocalBackend({ runtimeEntry: quick }).start({
      spec: buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" }),
      env: { PATH: process.env.PATH ?? "" },
      workspace: ws.dir,
      labels: { jobId: "j", runId: "r" },
    })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    let bytes = 0
    for await (const chunk of sandbox.stdout) bytes += chunk.length
    expect(bytes).toBe(300_000 + "\nend\n".length)
    expect(await sandbox.wait()).toMatchObject({ exitCode: 0, reason: "completed" })
  })

  it("ends a run whose runtime exited while a process it left still holds its stdout", async () => {
    await using ws = await workspace()
    const leaving = path.join(ws.dir, "leaving.mjs")
    await writeFile(
      leaving,
      `import { spawn } from "node:child_process"
const child = spawn("sleep", ["60"], { detached: true, stdio: ["ignore", "inherit", "inherit"] })
child.unref()
console.log("bye")`,
    )
    const sandbox = await createLocalBackend({ runtimeEntry: leaving }).start({
      spec: buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" }),
      env: { PATH: process.env.PATH ?? "" },
      workspace: ws.dir,
      labels: { jobId: "j", runId: "r" },
    })
    let text = ""
    for await (const chunk of sandbox.stdout) text += Buffer.from(chunk).toString("utf8")
    expect(text).toBe("bye\n")
    expect(await sandbox.wait()).toMatchObject({ exitCode: 0 })
  })
})
