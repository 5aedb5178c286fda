import { describe, expect, it } from "vitest"
import { MessageFramer } from "./message-framer.ts"

describe("MessageFramer", () => {
  it("frames lines across chunks on bytes: a multibyte character split between chunks stays whole, \\r is stripped", () => {
    const framer = new MessageFramer(1024)
    const lines: string[] = []
    const bytes = Buffer.from('{"a":"prêt ✓"}\r\n{"b":1}\n{"c"')
    for (let at = 0; at < bytes.length; at += 3)
      framer.push(bytes.subarray(at, at + 3), (line) => lines.push(line))
    expect(lines).toEqual(['{"a":"prêt ✓"}', '{"b":1}'])
  })

  it("stops for good at a line over the cap", () => {
    const framer = new MessageFramer(8)
    const lines: string[] = []
    expect(framer.push(Buffer.from("short\nmuch too long"), (line) => lines.push(line))).toBe(false)
    expect(framer.push(Buffer.from("\nok\n"), (line) => lines.push(line))).toBe(false)
    expect(lines).toEqual(["short"])
  })
})
