import { describe, expect, it } from "vitest"
import { type FramedLine, frameLines } from "./line-framer.ts"

const encoder = new TextEncoder()

async function* chunks(
  data: string | Uint8Array,
  size = Number.POSITIVE_INFINITY,
): AsyncGenerator<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size)
}

async function lines(source: AsyncIterable<Uint8Array>, options = {}) {
  const out: { text: string; byteLength: number; truncated: boolean; lineNumber: number }[] = []
  for await (const line of frameLines(source, options)) {
    out.push({ ...summary(line), text: Buffer.from(line.bytes).toString("utf8") })
  }
  return out
}
const summary = ({ byteLength, truncated, lineNumber }: FramedLine) => ({ byteLength, truncated, lineNumber })

describe("frameLines", () => {
  it("yields each line without its newline, strips \\r, skips empty lines and keeps line numbers", async () => {
    expect(await lines(chunks("a\r\n\nbc\n\r\nd\n"))).toEqual([
      { text: "a", byteLength: 1, truncated: false, lineNumber: 1 },
      { text: "bc", byteLength: 2, truncated: false, lineNumber: 3 },
      { text: "d", byteLength: 1, truncated: false, lineNumber: 5 },
    ])
  })

  it("yields a final line that has no newline", async () => {
    expect((await lines(chunks("one\ntwo"))).map((line) => line.text)).toEqual(["one", "two"])
    expect((await lines(chunks("one\ntwo\r"))).map((line) => line.text)).toEqual(["one", "two"])
    expect(await lines(chunks(""))).toEqual([])
  })

  it("gives the same lines however the bytes are chunked, even mid multibyte character", async () => {
    const text = '日本語 🏋️ x\r\nünï\n\n{"a":"é"}\nlast 𝄞'
    const whole = await lines(chunks(text))
    expect(whole.map((line) => line.text)).toEqual(["日本語 🏋️ x", "ünï", '{"a":"é"}', "last 𝄞"])
    for (const size of [1, 2, 3, 5, 7]) expect(await lines(chunks(text, size))).toEqual(whole)
  })

  it("cuts a line over the cap to its sample, discards the rest and goes on", async () => {
    const long = "x".repeat(100)
    for (const size of [1, 7, 64, 1000]) {
      expect(
        await lines(chunks(`ok\n${long}\r\nnext\n`, size), { maxLineBytes: 50, sampleBytes: 8 }),
      ).toEqual([
        { text: "ok", byteLength: 2, truncated: false, lineNumber: 1 },
        { text: "xxxxxxxx", byteLength: 100, truncated: true, lineNumber: 2 },
        { text: "next", byteLength: 4, truncated: false, lineNumber: 3 },
      ])
    }
  })

  it("keeps a line of exactly the cap, with or without \\r, however it is chunked", async () => {
    const exact = "y".repeat(50)
    for (const size of [1, 10, 50, 51, 52, 1000]) {
      const out = await lines(chunks(`${exact}\r\n${exact}\n${exact}y`, size), { maxLineBytes: 50 })
      expect(out.map(({ truncated, byteLength }) => ({ truncated, byteLength }))).toEqual([
        { truncated: false, byteLength: 50 },
        { truncated: false, byteLength: 50 },
        { truncated: true, byteLength: 51 },
      ])
    }
  })

  it("reassembles a long line that arrives in many small chunks", async () => {
    const long = `{"text":"${"ab€".repeat(200_000)}"}`
    const out = await lines(chunks(`${long}\n${long}`, 1000))
    expect(out.map((line) => line.text)).toEqual([long, long])
    expect(out.map((line) => line.byteLength)).toEqual([Buffer.byteLength(long), Buffer.byteLength(long)])
  })

  it("reports where each line ends in the stream, however the bytes are chunked", async () => {
    const text = "a\r\n\n日本\nlast"
    const ends = async (size: number) => {
      const out: number[] = []
      for await (const line of frameLines(chunks(text, size))) out.push(line.end)
      return out
    }
    // "a\r\n" ends at 3, the empty line is skipped, "日本\n" (6 bytes + 1) ends at 11, "last" at the stream's end.
    for (const size of [1, 2, 5, 100]) expect(await ends(size)).toEqual([3, 11, 15])
  })

  it("reports a truncated line's end past the bytes it discarded", async () => {
    const out = []
    for await (const line of frameLines(chunks(`${"x".repeat(100)}\nok\n`, 7), { maxLineBytes: 50 }))
      out.push({ truncated: line.truncated, end: line.end })
    expect(out).toEqual([
      { truncated: true, end: 101 },
      { truncated: false, end: 104 },
    ])
  })

  it("reads the source only as fast as lines are taken", async () => {
    let pulled = 0
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++
        yield encoder.encode(`line ${i}\n`)
      }
    }
    const iterator = frameLines(source())
    await iterator.next()
    await iterator.next()
    expect(pulled).toBe(2)
    await iterator.return(undefined)
  })
})
