// The tools, through MCP, refuse to reach outside the workspace or into perstack/, however the path is spelled.
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { connectBaseSkill } from "./base-server.ts"
import { callTool, createTestWorkspace, type TestWorkspace } from "./test-workspace.ts"

let ws: TestWorkspace
let connection: Awaited<ReturnType<typeof connectBaseSkill>>
const call = (name: string, args: Record<string, unknown>) => callTool(connection.client, name, args)

beforeEach(async () => {
  ws = await createTestWorkspace()
  connection = await connectBaseSkill(ws.context)
  await writeFile(path.join(ws.outside, "secret.txt"), "secret")
  await mkdir(path.join(ws.workspace, "perstack"))
  await writeFile(path.join(ws.workspace, "perstack", "state.json"), "{}")
  // The original's bug: a symlink directly in the workspace, pointing outside, was accepted.
  await symlink(ws.outside, path.join(ws.workspace, "escape"))
  await symlink(path.join(ws.outside, "secret.txt"), path.join(ws.workspace, "secret-link.txt"))
  // The original's other bug: a symlink pointing at perstack/ passed the name check.
  await symlink(path.join(ws.workspace, "perstack"), path.join(ws.workspace, "state"))
})
afterEach(async () => {
  await connection.close()
  await ws.cleanup()
})

describe("symlinks pointing outside the workspace", () => {
  it("are refused for reading", async () => {
    for (const p of ["secret-link.txt", "escape/secret.txt"]) {
      const result = await call("readTextFile", { path: p })
      expect(result, p).toMatchObject({ isError: true, json: { error: "workspace.outside" } })
      expect(String(result.json.message)).toContain(p)
    }
  })

  it("are refused for writing, and nothing is written outside", async () => {
    expect(await call("writeTextFile", { path: "secret-link.txt", text: "x" })).toMatchObject({
      isError: true,
    })
    expect(await call("writeTextFile", { path: "escape/new.txt", text: "x" })).toMatchObject({
      isError: true,
      json: { error: "workspace.outside" },
    })
    expect(await call("appendTextFile", { path: "secret-link.txt", text: "x" })).toMatchObject({
      isError: true,
    })
    expect(
      await call("editTextFile", { path: "secret-link.txt", oldText: "secret", newText: "x" }),
    ).toMatchObject({
      isError: true,
    })
    expect(await readFile(path.join(ws.outside, "secret.txt"), "utf8")).toBe("secret")
  })

  it("are refused for getFileInfo and listDirectory", async () => {
    expect(await call("getFileInfo", { path: "escape" })).toMatchObject({
      isError: true,
      json: { error: "workspace.outside" },
    })
    expect(await call("getFileInfo", { path: "secret-link.txt" })).toMatchObject({ isError: true })
    expect(await call("listDirectory", { path: "escape" })).toMatchObject({
      isError: true,
      json: { error: "workspace.outside" },
    })
  })

  it("are refused as exec's cwd", async () => {
    const result = await call("exec", { command: "pwd", cwd: "escape" })
    expect(result).toMatchObject({ isError: true, json: { error: "workspace.outside" } })
  })

  it("are refused for media reads and moves into them", async () => {
    await writeFile(path.join(ws.workspace, "a.txt"), "a")
    expect(await call("readImageFile", { path: "escape/x.png" })).toMatchObject({ isError: true })
    expect(await call("moveFile", { source: "a.txt", destination: "escape/a.txt" })).toMatchObject({
      isError: true,
      json: { error: "workspace.outside" },
    })
    expect(await call("createDirectory", { path: "escape/sub" })).toMatchObject({ isError: true })
  })

  it("can themselves be deleted, leaving their target alone", async () => {
    expect(await call("deleteFile", { path: "secret-link.txt" })).toMatchObject({ isError: false })
    expect(await readFile(path.join(ws.outside, "secret.txt"), "utf8")).toBe("secret")
  })
})

describe("paths outside the workspace", () => {
  it("are refused as absolute paths and through ..", async () => {
    expect(await call("readTextFile", { path: path.join(ws.outside, "secret.txt") })).toMatchObject({
      isError: true,
    })
    expect(await call("readTextFile", { path: "../outside/secret.txt" })).toMatchObject({
      isError: true,
      json: { error: "workspace.outside" },
    })
    expect(await call("exec", { command: "pwd", cwd: ".." })).toMatchObject({ isError: true })
  })
})

describe("the reserved perstack folder", () => {
  it("is refused directly, in any case, via .. and via a symlink", async () => {
    const attempts: Array<[string, Record<string, unknown>]> = [
      ["readTextFile", { path: "perstack/state.json" }],
      ["readTextFile", { path: "PERSTACK/state.json" }],
      ["readTextFile", { path: "PerStack/state.json" }],
      ["readTextFile", { path: "sub/../perstack/state.json" }],
      ["readTextFile", { path: "state/state.json" }],
      ["writeTextFile", { path: "perstack/new.json", text: "{}" }],
      ["writeTextFile", { path: "state/new.json", text: "{}" }],
      ["listDirectory", { path: "perstack" }],
      ["listDirectory", { path: "state" }],
      ["getFileInfo", { path: "Perstack" }],
      ["deleteDirectory", { path: "perstack", recursive: true }],
      ["exec", { command: "pwd", cwd: "state" }],
    ]
    for (const [tool, args] of attempts) {
      const result = await call(tool, args)
      expect(result, `${tool} ${JSON.stringify(args)}`).toMatchObject({
        isError: true,
        json: { error: "workspace.reserved" },
      })
    }
    expect(await readFile(path.join(ws.workspace, "perstack", "state.json"), "utf8")).toBe("{}")
  })

  it("is left out of the workspace's listing", async () => {
    const result = await call("listDirectory", { path: "." })
    const names = (result.json.items as Array<{ name: string }>).map((item) => item.name)
    expect(names).toEqual(["escape", "secret-link.txt", "state"])
  })
})
