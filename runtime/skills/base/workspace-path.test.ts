// resolveWorkspacePath: relative paths, symlinks followed, escapes and the reserved perstack/ folder refused.
import { mkdir, symlink, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { PerstackError } from "../../errors/perstack-error.ts"
import { createTestWorkspace, type TestWorkspace } from "./test-workspace.ts"
import { resolveWorkspacePath } from "./workspace-path.ts"

let ws: TestWorkspace
beforeEach(async () => {
  ws = await createTestWorkspace()
  await mkdir(path.join(ws.workspace, "src"))
  await writeFile(path.join(ws.workspace, "src", "a.txt"), "a")
  await mkdir(path.join(ws.workspace, "perstack"))
  await writeFile(path.join(ws.outside, "secret.txt"), "secret")
})
afterEach(() => ws.cleanup())

async function refusal(given: string, options?: Parameters<typeof resolveWorkspacePath>[2]) {
  const error = await resolveWorkspacePath(ws.workspace, given, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PerstackError)
  return error as PerstackError
}

describe("resolveWorkspacePath", () => {
  it("resolves relative and absolute paths inside the workspace", async () => {
    const relative = await resolveWorkspacePath(ws.workspace, "src/a.txt")
    expect(relative).toEqual({
      given: "src/a.txt",
      absolute: path.join(ws.workspace, "src", "a.txt"),
      relative: path.join("src", "a.txt"),
      exists: true,
    })
    const absolute = await resolveWorkspacePath(ws.workspace, path.join(ws.workspace, "src"))
    expect(absolute.relative).toBe("src")
    expect((await resolveWorkspacePath(ws.workspace, ".")).relative).toBe(".")
  })

  it("accepts a path to be created under missing folders, and refuses it when it must exist", async () => {
    const created = await resolveWorkspacePath(ws.workspace, "new/deep/file.txt", { mustExist: false })
    expect(created).toMatchObject({ relative: path.join("new", "deep", "file.txt"), exists: false })
    expect((await refusal("new/deep/file.txt")).code).toBe("workspace.notFound")
  })

  it("refuses paths outside the workspace, by absolute path or by ..", async () => {
    const absolute = await refusal(path.join(ws.outside, "secret.txt"))
    expect(absolute.code).toBe("workspace.outside")
    expect(absolute.message).toContain(path.join(ws.outside, "secret.txt"))
    expect((await refusal("../outside/secret.txt")).code).toBe("workspace.outside")
    expect((await refusal("../outside/new.txt", { mustExist: false })).code).toBe("workspace.outside")
  })

  it("refuses a symlink placed in the workspace that points outside, and paths through it", async () => {
    await symlink(ws.outside, path.join(ws.workspace, "escape"))
    const error = await refusal("escape")
    expect(error.code).toBe("workspace.outside")
    expect(error.message).toContain("symbolic link")
    expect((await refusal("escape/secret.txt")).code).toBe("workspace.outside")
    expect((await refusal("escape/new.txt", { mustExist: false })).code).toBe("workspace.outside")
  })

  it("follows a symlink that stays inside the workspace", async () => {
    await symlink(path.join(ws.workspace, "src"), path.join(ws.workspace, "alias"))
    const resolved = await resolveWorkspacePath(ws.workspace, "alias/a.txt")
    expect(resolved.relative).toBe(path.join("src", "a.txt"))
  })

  it("refuses the reserved perstack folder directly, in any case, via .. and via a symlink", async () => {
    for (const given of ["perstack", "perstack/run.json", "PERSTACK/x", "PerStack", "src/../perstack/x"]) {
      expect((await refusal(given, { mustExist: false })).code, given).toBe("workspace.reserved")
    }
    await symlink(path.join(ws.workspace, "perstack"), path.join(ws.workspace, "state"))
    expect((await refusal("state")).code).toBe("workspace.reserved")
    expect((await refusal("state/new.json", { mustExist: false })).code).toBe("workspace.reserved")
  })

  it("refuses a dangling symlink rather than creating its target", async () => {
    await symlink(path.join(ws.outside, "missing.txt"), path.join(ws.workspace, "dangling"))
    expect((await refusal("dangling", { mustExist: false })).code).toBe("workspace.brokenSymlink")
  })

  it("without following the last symlink, names the link itself (to delete or move it)", async () => {
    await symlink(ws.outside, path.join(ws.workspace, "escape"))
    const link = await resolveWorkspacePath(ws.workspace, "escape", { followFinalSymlink: false })
    expect(link).toMatchObject({ absolute: path.join(ws.workspace, "escape"), exists: true })
  })

  it("refuses an empty path", async () => {
    expect((await refusal("")).code).toBe("workspace.invalidPath")
  })
})
