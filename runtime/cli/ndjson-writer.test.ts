import { Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { asciiJson, createNdjsonWriter } from "./ndjson-writer.ts"

describe("asciiJson", () => {
  it("writes the same value in ASCII bytes only, astral characters and controls included", () => {
    const value = { text: '日本語のメモ, ünïcødé ✓ 🏋️\u007f\n"quoted"', n: 1, nested: [{ k: "é" }] }
    const json = asciiJson(value)
    expect([...Buffer.from(json)].every((byte) => byte < 0x7f)).toBe(true)
    expect(JSON.parse(json)).toEqual(value)
  })
})

describe("createNdjsonWriter", () => {
  it("refuses a line over the cap without printing any of it, and prints the lines under it", async () => {
    const written: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk))
        done()
      },
    })
    const write = createNdjsonWriter(stream, { maxLineBytes: 999 })
    const event = (text: string) =>
      ({ type: "skillStderr", skillName: "s", message: text }) as unknown as PerstackEvent
    await write(event("short"))
    await expect(write(event("é".repeat(600)))).rejects.toThrow(
      /^the skillStderr event is 1\.3 kB, over the 999 bytes an event line may carry; not printed$/,
    )
    expect(written).toHaveLength(1)
    expect(JSON.parse(written[0] ?? "")).toMatchObject({ message: "short" })
  })
})
