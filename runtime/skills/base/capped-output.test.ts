// CappedOutput: keeps head and tail within the cap and counts what it dropped.
import { describe, expect, it } from "vitest"
import { CappedOutput } from "./capped-output.ts"

describe("CappedOutput", () => {
  it("keeps everything under the cap", () => {
    const output = new CappedOutput(10)
    output.push(Buffer.from("abc"))
    output.push(Buffer.from("def"))
    expect(output.finish()).toEqual({ text: "abcdef", droppedBytes: 0 })
  })

  it("keeps the first and last halves and marks the gap", () => {
    const output = new CappedOutput(6)
    for (const chunk of ["abcd", "efgh", "ijkl"]) output.push(Buffer.from(chunk))
    expect(output.finish()).toEqual({ text: "abc\n[… 6 bytes dropped …]\njkl", droppedBytes: 6 })
  })
})
