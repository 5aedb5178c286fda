import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { isLineBoundary, RunLogTail } from "./run-log-tail.ts"

async function tempFile() {
  const dir = await mkdtemp(path.join(tmpdir(), "run-log-tail-"))
  return {
    file: path.join(dir, "events.ndjson"),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  }
}

const texts = (lines: { bytes: Buffer; end: number }[]) =>
  lines.map((line) => [line.bytes.toString("utf8"), line.end])

describe("following a run's log", () => {
  it("hands out complete lines with where each ends, and the rest of a line once the file grew", async () => {
    await using tmp = await tempFile()
    await writeFile(tmp.file, '{"a":1}\n{"b":"日')
    const tail = new RunLogTail({ file: tmp.file, offset: 0 })
    expect(texts(await tail.read())).toEqual([['{"a":1}', 8]])
    expect(await tail.read()).toEqual([])
    await appendFile(tmp.file, '本"}\r\n\n{"c":3}\n')
    expect(texts(await tail.read())).toEqual([
      ['{"b":"日本"}', 24],
      ['{"c":3}', 33],
    ])
    await tail.close()
    expect(await isLineBoundary(tmp.file, 24)).toBe(true)
    expect(await isLineBoundary(tmp.file, 23)).toBe(false)
  })

  it("starts at an offset and counts the line ends from the file's start", async () => {
    await using tmp = await tempFile()
    await writeFile(tmp.file, "one\ntwo\nthree\n")
    const tail = new RunLogTail({ file: tmp.file, offset: 4 })
    expect(texts(await tail.read())).toEqual([
      ["two", 8],
      ["three", 14],
    ])
    await tail.close()
  })

  it("reports a line over the cap as a corrupt store, after the lines before it", async () => {
    await using tmp = await tempFile()
    await writeFile(tmp.file, `ok\n${"x".repeat(100)}\n`)
    const tail = new RunLogTail({ file: tmp.file, offset: 0, maxLineBytes: 50 })
    // The lines before it are still handed out; the next read reports it.
    expect(texts(await tail.read())).toEqual([["ok", 3]])
    await expect(tail.read()).rejects.toMatchObject({
      code: "store.corrupt",
      message: /a line over 50 bytes/,
    })
    await tail.close()
  })

  it("reads a missing file as no lines yet", async () => {
    await using tmp = await tempFile()
    const tail = new RunLogTail({ file: tmp.file, offset: 0 })
    expect(await tail.read()).toEqual([])
    await tail.close()
  })
})
