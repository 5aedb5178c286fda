import { describe, expect, it } from "vitest"
import { readSse } from "./sse-reader.ts"

const bodyOf = (chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })

async function frames(chunks: Uint8Array[]) {
  const out = []
  for await (const frame of readSse(bodyOf(chunks))) out.push(frame)
  return out
}

describe("readSse", () => {
  it("frames events across chunks, CRLF split between chunks, and a multibyte character split in two", async () => {
    const bytes = new TextEncoder().encode(
      'retry: 500\r\n\r\n: comment\r\nid: r:1\r\nevent: message\r\ndata: {"t":"é"}\r\n\r\ndata: a\ndata: b\n\n',
    )
    const split = bytes.indexOf(0xc3) + 1
    const crlf = bytes.indexOf(0x0d) + 1
    const result = await frames([bytes.subarray(0, crlf), bytes.subarray(crlf, split), bytes.subarray(split)])
    expect(result).toEqual([
      { event: "message", data: "", id: undefined, retryMs: 500 },
      { event: "message", data: '{"t":"é"}', id: "r:1" },
      { event: "message", data: "a\nb", id: "r:1" },
    ])
  })
})
