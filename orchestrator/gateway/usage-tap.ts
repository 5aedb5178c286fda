// Reads token usage out of a response as its bytes pass by: SSE `data:` lines of a stream, or a whole JSON body.
import type { Usage } from "../../runtime/protocol/usage.ts"

/** A partial line longer than this is a content delta, never the usage chunk: it is dropped, not kept. */
const MAX_LINE_BYTES = 1 << 20
const NEWLINE = 0x0a

interface WireUsage {
  prompt_tokens?: unknown
  completion_tokens?: unknown
  total_tokens?: unknown
  prompt_tokens_details?: { cached_tokens?: unknown } | null
  completion_tokens_details?: { reasoning_tokens?: unknown } | null
}

const count = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0

function toUsage(wire: WireUsage): Usage {
  const inputTokens = count(wire.prompt_tokens)
  const outputTokens = count(wire.completion_tokens)
  return {
    inputTokens,
    outputTokens,
    reasoningTokens: count(wire.completion_tokens_details?.reasoning_tokens),
    totalTokens: count(wire.total_tokens) || inputTokens + outputTokens,
    cachedInputTokens: count(wire.prompt_tokens_details?.cached_tokens),
  }
}

function usageOfJson(text: string): Usage | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null) return undefined
    const usage = (parsed as { usage?: unknown }).usage
    return typeof usage === "object" && usage !== null ? toUsage(usage as WireUsage) : undefined
  } catch {
    return undefined
  }
}

/** Feed it every chunk (it never holds a chunk back), then `end()` for the usage the response reported. */
export class UsageTap {
  private partial: Buffer[] = []
  private partialBytes = 0
  private overflow = false
  private usage: Usage | undefined
  private readonly sse: boolean

  constructor(contentType: string | undefined) {
    this.sse = (contentType ?? "").includes("text/event-stream")
  }

  write(chunk: Buffer): void {
    if (!this.sse) {
      this.keep(chunk)
      return
    }
    // Framed on bytes: a multibyte character may straddle two chunks.
    let start = 0
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.keep(chunk.subarray(start, end))
      if (!this.overflow) this.line(Buffer.concat(this.partial, this.partialBytes))
      this.partial = []
      this.partialBytes = 0
      this.overflow = false
      start = end + 1
    }
    if (start < chunk.length) this.keep(chunk.subarray(start))
  }

  end(): Usage | undefined {
    if (this.partialBytes > 0 && !this.overflow) {
      const rest = Buffer.concat(this.partial, this.partialBytes)
      if (this.sse) this.line(rest)
      else this.usage = usageOfJson(rest.toString("utf8"))
    }
    return this.usage
  }

  private keep(bytes: Buffer): void {
    if (this.overflow) return
    if (this.partialBytes + bytes.length > MAX_LINE_BYTES) {
      this.partial = []
      this.partialBytes = 0
      this.overflow = true
      return
    }
    if (bytes.length > 0) this.partial.push(Buffer.from(bytes))
    this.partialBytes += bytes.length
  }

  private line(bytes: Buffer): void {
    const text = bytes.toString("utf8").trim()
    // Only the chunk naming usage is parsed: the others pass untouched.
    if (!text.startsWith("data:") || !text.includes('"usage"')) return
    const usage = usageOfJson(text.slice(5).trim())
    if (usage) this.usage = usage
  }
}
