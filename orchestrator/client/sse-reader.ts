// Server-Sent Events framing (the WHATWG event-stream format) over a fetch body, decoded as UTF-8 across chunks.

export interface SseFrame {
  /** "message" when the frame names no event */
  event: string
  data: string
  /** the last id seen so far on this connection (ids persist across frames, per the spec) */
  id: string | undefined
  /** set when the frame carried a `retry:` field */
  retryMs?: number
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder()
  let buffer = ""
  let event = ""
  let data: string[] = []
  let id: string | undefined
  let retryMs: number | undefined
  let sawCarriageReturn = false
  const reader = body.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      // A "\r\n" split over two chunks: the "\n" ends no second line.
      if (sawCarriageReturn && buffer.startsWith("\n")) buffer = buffer.slice(1)
      sawCarriageReturn = false
      let start = 0
      for (;;) {
        const end = nextLineEnd(buffer, start)
        if (end < 0) break
        const line = buffer.slice(start, end)
        if (buffer[end] === "\r" && end + 1 === buffer.length) sawCarriageReturn = true
        start = buffer[end] === "\r" && buffer[end + 1] === "\n" ? end + 2 : end + 1
        if (line === "") {
          if (data.length > 0 || retryMs !== undefined) {
            yield {
              event: event || "message",
              data: data.join("\n"),
              id,
              ...(retryMs !== undefined ? { retryMs } : {}),
            }
          }
          event = ""
          data = []
          retryMs = undefined
          continue
        }
        if (line.startsWith(":")) continue
        const colon = line.indexOf(":")
        const field = colon < 0 ? line : line.slice(0, colon)
        let fieldValue = colon < 0 ? "" : line.slice(colon + 1)
        if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1)
        if (field === "event") event = fieldValue
        else if (field === "data") data.push(fieldValue)
        else if (field === "id" && !fieldValue.includes("\0")) id = fieldValue
        else if (field === "retry" && /^\d+$/.test(fieldValue)) retryMs = Number(fieldValue)
      }
      buffer = buffer.slice(start)
      if (done) return
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
}

function nextLineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || c === 13) return i
  }
  return -1
}
