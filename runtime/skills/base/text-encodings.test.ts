// The text tools on real files that are not plain UTF-8 with \n: Latin-1 bytes, a UTF-8 BOM, CRLF line ends.
// Every edit must leave each byte outside its span as it was.
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { connectBaseSkill } from "./base-server.ts"
import { callTool, createTestWorkspace, type TestWorkspace } from "./test-workspace.ts"

let ws: TestWorkspace
let connection: Awaited<ReturnType<typeof connectBaseSkill>>
const call = (name: string, args: Record<string, unknown>) => callTool(connection.client, name, args)
const at = (...parts: string[]) => path.join(ws.workspace, ...parts)
const bytes = (file: string) => readFile(at(file))

beforeEach(async () => {
  ws = await createTestWorkspace()
  connection = await connectBaseSkill(ws.context)
})
afterEach(async () => {
  await connection.close()
  await ws.cleanup()
})

/** "# café" in Latin-1 (é is the one byte 0xE9), then ASCII lines */
const latin1 = Buffer.concat([
  Buffer.from("# caf"),
  Buffer.from([0xe9]),
  Buffer.from("\nconst a = 1\nconst b = 2\n// na"),
  Buffer.from([0xef, 0x76, 0x65]),
  Buffer.from("\n"),
])

describe("a Latin-1 file", () => {
  it("is read as Latin-1, one character per byte, and said to be", async () => {
    await writeFile(at("old.txt"), latin1)
    const read = await call("readTextFile", { path: "old.txt" })
    expect(read.json).toMatchObject({
      content: "# café\nconst a = 1\nconst b = 2\n// naïve\n",
      totalLines: 4,
      encoding: "latin1",
    })
    expect(String(read.json.note)).toContain("line 0")
  })

  it("is edited on its bytes: the lines the edit did not touch keep every byte", async () => {
    await writeFile(at("old.txt"), latin1)
    const edit = await call("editTextFile", {
      path: "old.txt",
      oldText: "const b = 2",
      newText: "const b = 3",
    })
    expect(edit).toMatchObject({ isError: false, json: { line: 2 } })
    expect(await bytes("old.txt")).toEqual(
      Buffer.from(latin1.toString("latin1").replace("b = 2", "b = 3"), "latin1"),
    )
  })

  it("takes Latin-1 characters in oldText and newText, written back as single bytes", async () => {
    await writeFile(at("old.txt"), latin1)
    const edit = await call("editTextFile", { path: "old.txt", oldText: "# café", newText: "# crème" })
    expect(edit.isError).toBe(false)
    const after = await bytes("old.txt")
    expect(after.subarray(0, 7)).toEqual(Buffer.from([0x23, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65]))
    expect(after.subarray(7)).toEqual(latin1.subarray(6))
  })

  it("refuses newText that Latin-1 cannot hold, naming the file and changing nothing", async () => {
    await writeFile(at("old.txt"), latin1)
    const edit = await call("editTextFile", {
      path: "old.txt",
      oldText: "const a = 1",
      newText: "const a = '€'",
    })
    expect(edit).toMatchObject({ isError: true, json: { error: "file.unencodable" } })
    expect(String(edit.json.message)).toContain('"old.txt"')
    expect(String(edit.json.message)).toContain("Latin-1")
    expect(await bytes("old.txt")).toEqual(latin1)
  })

  it("is appended to and rewritten in Latin-1", async () => {
    await writeFile(at("old.txt"), latin1)
    expect((await call("appendTextFile", { path: "old.txt", text: "// é\n" })).json).toMatchObject({
      appendedBytes: 5,
    })
    expect(await bytes("old.txt")).toEqual(Buffer.concat([latin1, Buffer.from("// \xe9\n", "latin1")]))
    const written = await call("writeTextFile", { path: "old.txt", text: "déjà\n" })
    expect(written.json).toMatchObject({ bytes: 5, created: false, encoding: "latin1" })
    expect(await bytes("old.txt")).toEqual(Buffer.from("déjà\n", "latin1"))
  })
})

describe("a UTF-8 file with a byte order mark", () => {
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("first\nsecond ü\n")])

  it("is read without the BOM, and edits keep it", async () => {
    await writeFile(at("bom.txt"), bom)
    expect((await call("readTextFile", { path: "bom.txt" })).json).toMatchObject({
      content: "first\nsecond ü\n",
      encoding: "utf-8-bom",
    })
    expect((await call("editTextFile", { path: "bom.txt", oldText: "first", newText: "1st" })).isError).toBe(
      false,
    )
    expect(await bytes("bom.txt")).toEqual(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("1st\nsecond ü\n")]),
    )
    await call("writeTextFile", { path: "bom.txt", text: "new" })
    expect(await bytes("bom.txt")).toEqual(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("new")]),
    )
  })
})

describe("CRLF line ends", () => {
  it("stay on every line an edit did not touch, and the new text gets them too", async () => {
    await writeFile(at("win.txt"), "one\r\ntwo\r\nthree\r\n")
    const edit = await call("editTextFile", { path: "win.txt", oldText: "two\nthree", newText: "2\n3\n3.5" })
    expect(edit).toMatchObject({ isError: false, json: { line: 1 } })
    expect((await bytes("win.txt")).toString("latin1")).toBe("one\r\n2\r\n3\r\n3.5\r\n")
  })

  it("match oldText copied from readTextFile with its \\r\\n", async () => {
    await writeFile(at("win.txt"), "one\r\ntwo\r\n")
    const content = String((await call("readTextFile", { path: "win.txt" })).json.content)
    expect(content).toBe("one\r\ntwo\r\n")
    expect(
      (await call("editTextFile", { path: "win.txt", oldText: "one\r\n", newText: "zero\r\n" })).isError,
    ).toBe(false)
    expect((await bytes("win.txt")).toString("latin1")).toBe("zero\r\ntwo\r\n")
  })

  it("are left as they are in a file that mixes them", async () => {
    await writeFile(at("mixed.txt"), "a\r\nb\nc\r\nd\n")
    expect((await call("editTextFile", { path: "mixed.txt", oldText: "c", newText: "C" })).isError).toBe(
      false,
    )
    expect((await bytes("mixed.txt")).toString("latin1")).toBe("a\r\nb\nC\r\nd\n")
  })

  it("are used by appendTextFile in a CRLF file", async () => {
    await writeFile(at("win.txt"), "one\r\n")
    await call("appendTextFile", { path: "win.txt", text: "two\nthree\n" })
    expect((await bytes("win.txt")).toString("latin1")).toBe("one\r\ntwo\r\nthree\r\n")
  })
})
