import { describe, expect, it } from "vitest"
import { demuxFrames } from "./frame-demuxer.ts"

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

async function* chunks(bytes: Buffer, size: number) {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size)
}

async function demux(source: AsyncIterable<Uint8Array>) {
  const stderr: Buffer[] = []
  const stdout: Buffer[] = []
  for await (const chunk of demuxFrames(source, (chunk) => stderr.push(Buffer.from(chunk)))) {
    stdout.push(Buffer.from(chunk))
  }
  return { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }
}

describe("demuxFrames", () => {
  const stream = Buffer.concat([
    frame(1, '{"a":1}\n{"b"'),
    frame(2, "warning: ünïcode\n"),
    frame(1, ":2}\n"),
    frame(1, ""),
    frame(2, "more"),
  ])

  it("separates stdout from stderr whatever the chunking, a header or a multibyte character split included", async () => {
    for (const size of [1, 3, 7, 8, 9, 13, stream.length]) {
      expect(await demux(chunks(stream, size))).toEqual({
        stdout: '{"a":1}\n{"b":2}\n',
        stderr: "warning: ünïcode\nmore",
      })
    }
  })

  it("pulls no further than stdout is read", async () => {
    let pulled = 0
    async function* counted() {
      for (const part of [frame(1, "one\n"), frame(1, "two\n"), frame(1, "three\n")]) {
        pulled++
        yield part
      }
    }
    const iterator = demuxFrames(counted(), () => {})
    await iterator.next()
    expect(pulled).toBe(1)
    await iterator.return()
  })

  it("refuses a stream that is not multiplexed (a TTY's raw output)", async () => {
    await expect(demux(chunks(Buffer.from("plain text output, no frames\n"), 64))).rejects.toThrow(
      /not a multiplexed Docker stream/,
    )
  })
})
