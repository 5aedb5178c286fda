// The file tools through MCP on a temporary workspace: what a model would see when it reads, writes and edits.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { connectBaseSkill } from "./base-server.ts"
import { callTool, createTestWorkspace, type TestWorkspace } from "./test-workspace.ts"

let ws: TestWorkspace
let connection: Awaited<ReturnType<typeof connectBaseSkill>>
const call = (name: string, args: Record<string, unknown>) => callTool(connection.client, name, args)
const at = (...parts: string[]) => path.join(ws.workspace, ...parts)

beforeEach(async () => {
  ws = await createTestWorkspace()
  connection = await connectBaseSkill(ws.context)
})
afterEach(async () => {
  await connection.close()
  await ws.cleanup()
})

describe("readTextFile", () => {
  it("reads a whole file and a range of lines", async () => {
    await writeFile(at("f.txt"), "zero\none\ntwo\nthree\n")
    expect((await call("readTextFile", { path: "f.txt" })).json).toEqual({
      path: "f.txt",
      content: "zero\none\ntwo\nthree\n",
      from: 0,
      to: 4,
      totalLines: 4,
    })
    expect((await call("readTextFile", { path: "f.txt", from: 1, to: 3 })).json).toMatchObject({
      content: "one\ntwo",
      from: 1,
      to: 3,
    })
  })

  it("caps the content and says where to continue", async () => {
    const line = "x".repeat(1023)
    await writeFile(at("big.txt"), `${Array.from({ length: 600 }, () => line).join("\n")}\n`)
    const first = await call("readTextFile", { path: "big.txt" })
    expect(first.json).toMatchObject({ truncated: true, from: 0, to: 256, totalLines: 600 })
    const next = await call("readTextFile", { path: "big.txt", from: first.json.to })
    expect(next.json).toMatchObject({ from: 256, to: 512, truncated: true })
  })

  it("refuses a missing file and a binary one", async () => {
    expect(await call("readTextFile", { path: "nope.txt" })).toMatchObject({
      isError: true,
      json: { error: "workspace.notFound" },
    })
    await writeFile(at("bin"), Buffer.from([1, 0, 2]))
    expect(await call("readTextFile", { path: "bin" })).toMatchObject({
      isError: true,
      json: { error: "file.binary" },
    })
  })
})

describe("readImageFile and readPdfFile", () => {
  it("returns the image itself as MCP image content", async () => {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex")
    await writeFile(at("pic.png"), png)
    const result = await call("readImageFile", { path: "pic.png" })
    expect(result.json).toEqual({ path: "pic.png", mimeType: "image/png", size: png.length })
    expect(result.content[1]).toEqual({ type: "image", data: png.toString("base64"), mimeType: "image/png" })
    await writeFile(at("notes.txt"), "x")
    expect(await call("readImageFile", { path: "notes.txt" })).toMatchObject({
      isError: true,
      json: { error: "file.unsupportedType" },
    })
  })

  it("returns the PDF itself as a resource with a blob", async () => {
    const pdf = Buffer.from("%PDF-1.4\n%%EOF\n")
    await writeFile(at("doc.pdf"), pdf)
    const result = await call("readPdfFile", { path: "doc.pdf" })
    expect(result.content[1]).toEqual({
      type: "resource",
      resource: { uri: `file://${at("doc.pdf")}`, mimeType: "application/pdf", blob: pdf.toString("base64") },
    })
    await writeFile(at("fake.pdf"), "hello")
    expect(await call("readPdfFile", { path: "fake.pdf" })).toMatchObject({ isError: true })
  })
})

describe("writeTextFile and appendTextFile", () => {
  it("creates missing parent folders and overwrites", async () => {
    const created = await call("writeTextFile", { path: "a/b/c/new.txt", text: "héllo" })
    expect(created.json).toEqual({ path: path.join("a", "b", "c", "new.txt"), bytes: 6, created: true })
    expect(await readFile(at("a", "b", "c", "new.txt"), "utf8")).toBe("héllo")
    expect((await call("writeTextFile", { path: "a/b/c/new.txt", text: "bye" })).json.created).toBe(false)
    expect(await readFile(at("a", "b", "c", "new.txt"), "utf8")).toBe("bye")
  })

  it("refuses to write over a directory", async () => {
    await mkdir(at("dir"))
    expect(await call("writeTextFile", { path: "dir", text: "x" })).toMatchObject({
      isError: true,
      json: { error: "file.isDirectory" },
    })
  })

  it("appends to an existing file only", async () => {
    await writeFile(at("log.txt"), "one\n")
    expect((await call("appendTextFile", { path: "log.txt", text: "two\n" })).json).toEqual({
      path: "log.txt",
      appendedBytes: 4,
      size: 8,
    })
    expect(await readFile(at("log.txt"), "utf8")).toBe("one\ntwo\n")
    const missing = await call("appendTextFile", { path: "none.txt", text: "x" })
    expect(missing).toMatchObject({ isError: true, json: { error: "workspace.notFound" } })
    expect(String(missing.json.message)).toContain("writeTextFile")
  })
})

describe("editTextFile", () => {
  it("replaces a unique match literally, keeping the file's CRLF line ends", async () => {
    await writeFile(at("code.ts"), "const a = 1\r\nconst b = 2\r\n")
    const result = await call("editTextFile", {
      path: "code.ts",
      oldText: "const b = 2",
      newText: "const b = $&3",
    })
    expect(result.json).toEqual({ path: "code.ts", line: 1 })
    expect(await readFile(at("code.ts"), "utf8")).toBe("const a = 1\r\nconst b = $&3\r\n")
  })

  it("refuses text that is not found", async () => {
    await writeFile(at("code.ts"), "const a = 1\n")
    const result = await call("editTextFile", { path: "code.ts", oldText: "const z", newText: "x" })
    expect(result).toMatchObject({ isError: true, json: { error: "edit.notFound" } })
  })

  it("refuses ambiguous text, saying how many times it matches", async () => {
    await writeFile(at("code.ts"), "x = 1\nx = 1\nx = 1\n")
    const result = await call("editTextFile", { path: "code.ts", oldText: "x = 1", newText: "x = 2" })
    expect(result).toMatchObject({ isError: true, json: { error: "edit.ambiguous" } })
    expect(String(result.json.message)).toContain("3 times")
    expect(String(result.json.message)).toContain("context")
    expect(await readFile(at("code.ts"), "utf8")).toBe("x = 1\nx = 1\nx = 1\n")
  })
})

describe("moveFile and deleteFile", () => {
  it("moves into a new folder and refuses to overwrite", async () => {
    await writeFile(at("a.txt"), "a")
    await writeFile(at("b.txt"), "b")
    expect((await call("moveFile", { source: "a.txt", destination: "x/y/a.txt" })).json).toEqual({
      source: "a.txt",
      destination: path.join("x", "y", "a.txt"),
    })
    expect(await readFile(at("x", "y", "a.txt"), "utf8")).toBe("a")
    expect(await call("moveFile", { source: "b.txt", destination: "x/y/a.txt" })).toMatchObject({
      isError: true,
      json: { error: "file.exists" },
    })
  })

  it("deletes a file but not a directory", async () => {
    await writeFile(at("gone.txt"), "x")
    expect((await call("deleteFile", { path: "gone.txt" })).json).toEqual({ path: "gone.txt" })
    await expect(stat(at("gone.txt"))).rejects.toThrow()
    await mkdir(at("dir"))
    expect(await call("deleteFile", { path: "dir" })).toMatchObject({
      isError: true,
      json: { error: "file.isDirectory" },
    })
  })
})

describe("getFileInfo and listDirectory", () => {
  it("reports a file's facts, and a missing path as not existing", async () => {
    await writeFile(at("data.json"), "{}")
    const info = await call("getFileInfo", { path: "data.json" })
    expect(info.json).toMatchObject({
      exists: true,
      path: "data.json",
      absolutePath: at("data.json"),
      name: "data.json",
      directory: ".",
      extension: ".json",
      type: "file",
      mimeType: "application/json",
      size: 2,
      sizeFormatted: "2 B",
      permissions: { readable: true, writable: true, executable: false },
    })
    expect(Object.keys(info.json)).toEqual(expect.arrayContaining(["created", "modified", "accessed"]))
    expect((await call("getFileInfo", { path: "missing" })).json).toEqual({ exists: false, path: "missing" })
  })

  it("lists a folder sorted by name", async () => {
    await mkdir(at("src"))
    await writeFile(at("src", "b.ts"), "b")
    await mkdir(at("src", "a"))
    const result = await call("listDirectory", { path: "src" })
    expect(result.json).toMatchObject({
      path: "src",
      total: 2,
      items: [
        { name: "a", path: path.join("src", "a"), type: "directory" },
        { name: "b.ts", path: path.join("src", "b.ts"), type: "file", size: 1 },
      ],
    })
  })
})

describe("createDirectory and deleteDirectory", () => {
  it("creates nested folders and refuses an existing one", async () => {
    expect((await call("createDirectory", { path: "p/q/r" })).json).toEqual({
      path: path.join("p", "q", "r"),
    })
    expect((await stat(at("p", "q", "r"))).isDirectory()).toBe(true)
    expect(await call("createDirectory", { path: "p/q" })).toMatchObject({
      isError: true,
      json: { error: "file.exists" },
    })
  })

  it("deletes an empty folder, and a full one only when recursive", async () => {
    await mkdir(at("full", "inner"), { recursive: true })
    await writeFile(at("full", "inner", "f.txt"), "x")
    expect(await call("deleteDirectory", { path: "full" })).toMatchObject({
      isError: true,
      json: { error: "file.directoryNotEmpty" },
    })
    expect(await call("deleteDirectory", { path: "full", recursive: true })).toMatchObject({ isError: false })
    await expect(stat(at("full"))).rejects.toThrow()
    expect(await call("deleteDirectory", { path: "." })).toMatchObject({
      isError: true,
      json: { error: "workspace.root" },
    })
  })
})
