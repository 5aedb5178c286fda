import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import { describeBackendContract } from "../../testing/backend-contract.ts"
import { RUNTIME_SOURCE } from "../../testing/job-harness.ts"
import { bubblewrapStatus } from "./bubblewrap.ts"
import { createLocalBackend } from "./local-backend.ts"

const bwrap = await bubblewrapStatus()
const isolated = bwrap.available
// CI installs bubblewrap: there, these tests fail rather than skip when it cannot run.
if (!isolated && process.env.PERSTACK_ISOLATION_TESTS === "required") throw new Error(bwrap.reason)

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
  it("kills a sandbox that ignores SIGTERM after the grace period, and everything it started (not isolated)", async () => {
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
    // Host pids are what this test reads back: outside bubblewrap's PID namespace.
    const sandbox = await createLocalBackend({ runtimeEntry: stubborn, isolation: "off" }).start({
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

  describe.runIf(isolated)("under bubblewrap", () => {
    const leaver = (when: "exit" | "stop") =>
      `import { spawn } from "node:child_process"
process.on("SIGTERM", () => {})
// As an exec'd command might: a process in a session of its own, writing a file a while later.
spawn("sh", ["-c", "sleep 1.5; echo late > late.txt"], { detached: true, stdio: "ignore" }).unref()
${when === "exit" ? "" : "setInterval(() => {}, 1000)"}`

    for (const when of ["exit", "stop"] as const) {
      it(`leaves nothing running once its runtime ${when === "exit" ? "exits" : "is stopped"}`, async () => {
        await using ws = await workspace()
        const entry = path.join(ws.dir, "leaver.mjs")
        await writeFile(entry, leaver(when))
        const sandbox = await createLocalBackend({ runtimeEntry: entry, isolation: "required" }).start({
          spec: buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" }),
          env: { PATH: process.env.PATH ?? "" },
          workspace: ws.dir,
          labels: { jobId: "j", runId: "r" },
        })
        if (when === "stop") {
          await new Promise((resolve) => setTimeout(resolve, 500))
          await sandbox.stop({ graceMs: 200 })
        }
        for await (const _ of sandbox.stdout) {
          // drained
        }
        await sandbox.wait()
        await new Promise((resolve) => setTimeout(resolve, 2_500))
        await expect(readFile(path.join(ws.dir, "late.txt"), "utf8")).rejects.toThrow(/ENOENT/)
      })
    }

    it("shows the workspace, with its protected files read-only and env files empty, and nothing of the host's", async () => {
      await using ws = await workspace()
      await writeFile(path.join(ws.dir, "perstack.toml"), "# the user's\n")
      await writeFile(path.join(ws.dir, ".env"), "OPENAI_API_KEY=sk-in-the-workspace\n")
      // The user's home, with something private in it.
      await using home = await workspace()
      await writeFile(path.join(home.dir, ".netrc"), "machine example.com password hunter2\n")
      const probe = path.join(ws.dir, "probe.mjs")
      await writeFile(
        probe,
        `import { readFileSync, writeFileSync, readdirSync } from "node:fs"
const attempt = (fn) => { try { return fn() } catch (error) { return error.code } }
console.log(JSON.stringify({
  toml: attempt(() => writeFileSync("perstack.toml", "runtime = 'local'")),
  env: attempt(() => readFileSync(".env", "utf8")),
  envWrite: attempt(() => writeFileSync(".env", "X=1")),
  parentEnviron: attempt(() => readFileSync("/proc/" + process.ppid + "/environ", "utf8")),
  pids: readdirSync("/proc").filter((entry) => /^\\d+$/.test(entry)).length,
  home: attempt(() => readdirSync(process.env.HOME)),
  written: attempt(() => writeFileSync("ok.txt", "fine")),
}))`,
      )
      const sandbox = await createLocalBackend({ runtimeEntry: probe, isolation: "required" }).start({
        spec: buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" }),
        env: { PATH: process.env.PATH ?? "", HOME: home.dir },
        workspace: ws.dir,
        labels: { jobId: "j", runId: "r" },
        protectedPaths: [
          { path: "perstack.toml", mode: "readOnly", exists: true },
          { path: ".env", mode: "mask", exists: true },
        ],
      })
      let text = ""
      for await (const chunk of sandbox.stdout) text += Buffer.from(chunk).toString("utf8")
      await sandbox.wait()
      expect(JSON.parse(text)).toEqual({
        toml: "EROFS",
        env: "",
        envWrite: "EROFS",
        // The runtime is PID 1 of its own namespace: there is no parent to read, and nothing else to see.
        parentEnviron: "ENOENT",
        pids: 1,
        home: [],
        written: undefined,
      })
      expect(await readFile(path.join(ws.dir, "perstack.toml"), "utf8")).toBe("# the user's\n")
      expect(await readFile(path.join(ws.dir, ".env"), "utf8")).toBe("OPENAI_API_KEY=sk-in-the-workspace\n")
      expect(await readFile(path.join(ws.dir, "ok.txt"), "utf8")).toBe("fine")
    })
  })
})
