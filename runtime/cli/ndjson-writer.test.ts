import { describe, expect, it } from "vitest"
import { asciiJson } from "./ndjson-writer.ts"

describe("asciiJson", () => {
  it("writes the same value in ASCII bytes only, astral characters and controls included", () => {
    const value = { text: '日本語のメモ, ünïcødé ✓ 🏋️\u007f\n"quoted"', n: 1, nested: [{ k: "é" }] }
    const json = asciiJson(value)
    expect([...Buffer.from(json)].every((byte) => byte < 0x7f)).toBe(true)
    expect(JSON.parse(json)).toEqual(value)
  })
})
