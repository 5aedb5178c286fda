import { describe, expect, it } from "vitest"
import { LineSplitter } from "./line-splitter.ts"

describe("LineSplitter", () => {
  it("splits on bytes, so a character cut between chunks survives; strips CR; keeps an unterminated tail", () => {
    const lines: string[] = []
    const splitter = new LineSplitter((line) => lines.push(line))
    const bytes = Buffer.from("héllo\r\nwörld\nend", "utf8")
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1))
    splitter.end()
    expect(lines).toEqual(["héllo", "wörld", "end"])
  })

  it("cuts a line at the cap and says so", () => {
    const lines: string[] = []
    const splitter = new LineSplitter((line) => lines.push(line), 4)
    splitter.push(Buffer.from("abcdefgh\nok\n"))
    expect(lines).toEqual(["abcd… (line cut at 4 bytes)", "ok"])
  })
})
