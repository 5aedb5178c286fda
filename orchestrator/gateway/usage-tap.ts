// Reads token usage out of a response as its bytes pass by (SSE `data:` lines of a stream, or a whole JSON body; the
// OpenAI wire's or Anthropic's Messages API's), and how much text it generated, for an estimate where the provider
// reports no usage.
import { anthropicUsage } from "../../runtime/host/providers.ts"
import type { Usage } from "../../runtime/protocol/usage.ts"

/** A partial line longer than this is a content delta, never the usage chunk: it is counted, not kept. */
const MAX_LINE_BYTES = 1 << 20
const NEWLINE = 0x0a

interface WireUsage {
  prompt_tokens?: unknown
  completion_tokens?: unknown
  total_tokens?: unknown
  prompt_tokens_details?: { cached_tokens?: unknown } | null
  completion_tokens_details?: { reasoning_tokens?: unknown } | null
}

/** What of a choice is generated text, in a stream's delta or a completion's message. */
interface WireOutput {
  content?: unknown
  reasoning_content?: unknown
  reasoning?: unknown
  refusal?: unknown
  tool_calls?: unknown
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

const textBytes = (value: unknown) => (typeof value === "string" ? Buffer.byteLength(value) : 0)

/** The bytes of text, reasoning, refusal and tool calls (names and arguments) in one choice's output. */
function outputBytes(output: WireOutput | undefined): number {
  if (typeof output !== "object" || output === null) return 0
  let bytes =
    textBytes(output.content) +
    textBytes(output.reasoning_content) +
    textBytes(output.reasoning) +
    textBytes(output.refusal)
  if (Array.isArray(output.tool_calls)) {
    for (const call of output.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
      bytes += textBytes(call?.function?.name) + textBytes(call?.function?.arguments)
    }
  }
  return bytes
}

interface WireAnswer {
  usage?: unknown
  choices?: Array<{ delta?: WireOutput; message?: WireOutput }>
  /** Anthropic's: an event's type (message_start, content_block_delta, message_delta...), or "message" */
  type?: unknown
  message?: { usage?: unknown }
  delta?: { text?: unknown; thinking?: unknown; partial_json?: unknown }
  content?: Array<{ text?: unknown; thinking?: unknown; input?: unknown; name?: unknown }>
}

/** Anthropic's usage fields, cumulative: message_start has them all, message_delta the ones that grew. */
type AnthropicWireUsage = Record<string, number>

function anthropicFields(usage: unknown): AnthropicWireUsage {
  const fields: AnthropicWireUsage = {}
  if (typeof usage !== "object" || usage === null) return fields
  for (const [key, value] of Object.entries(usage)) if (typeof value === "number") fields[key] = count(value)
  return fields
}

function parseObject(text: string): WireAnswer | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === "object" && parsed !== null ? (parsed as WireAnswer) : undefined
  } catch {
    return undefined
  }
}

/** Feed it every chunk (it never holds a chunk back); `usage` is the latest the provider reported. */
export class UsageTap {
  /** the usage the response reported so far (a stream reports it in its last chunk) */
  usage: Usage | undefined
  /** bytes of generated text seen so far */
  generatedBytes = 0
  private partial: Buffer[] = []
  private partialBytes = 0
  private overflow = false
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
      this.endLine()
      start = end + 1
    }
    if (start < chunk.length) this.keep(chunk.subarray(start))
  }

  /** The response ended (or was cut): what is left of it is read. */
  end(): void {
    if (this.sse) {
      if (this.partialBytes > 0) this.endLine()
      return
    }
    if (this.overflow) {
      // Too large to read: all of it counts as generated.
      this.generatedBytes += this.partialBytes
    } else if (this.partialBytes > 0) {
      this.answer(parseObject(Buffer.concat(this.partial, this.partialBytes).toString("utf8")))
    }
    this.partial = []
    this.partialBytes = 0
  }

  private endLine(): void {
    if (this.overflow) this.generatedBytes += this.partialBytes
    else this.line(Buffer.concat(this.partial, this.partialBytes))
    this.partial = []
    this.partialBytes = 0
    this.overflow = false
  }

  private keep(bytes: Buffer): void {
    if (!this.overflow && this.partialBytes + bytes.length > MAX_LINE_BYTES) {
      this.partial = []
      this.overflow = true
    }
    if (!this.overflow && bytes.length > 0) this.partial.push(Buffer.from(bytes))
    this.partialBytes += bytes.length
  }

  private line(bytes: Buffer): void {
    const text = bytes.toString("utf8").trim()
    if (!text.startsWith("data:")) return
    const payload = text.slice(5).trim()
    if (payload === "[DONE]") return
    this.answer(parseObject(payload))
  }

  private anthropicWire: AnthropicWireUsage = {}

  /** Anthropic's Messages API: usage in message_start and message_delta, text in content_block_delta. */
  private anthropicAnswer(answer: WireAnswer): void {
    if (answer.type === "message_start") this.anthropicWire = anthropicFields(answer.message?.usage)
    else if (answer.type === "message_delta")
      this.anthropicWire = { ...this.anthropicWire, ...anthropicFields(answer.usage) }
    else if (answer.type === "message") this.anthropicWire = anthropicFields(answer.usage)
    if (answer.type === "message_start" || answer.type === "message_delta" || answer.type === "message")
      this.usage = anthropicUsage(this.anthropicWire)
    if (answer.type === "content_block_delta")
      this.generatedBytes +=
        textBytes(answer.delta?.text) +
        textBytes(answer.delta?.thinking) +
        textBytes(answer.delta?.partial_json)
    if (answer.type === "message" && Array.isArray(answer.content)) {
      for (const block of answer.content) {
        this.generatedBytes += textBytes(block?.text) + textBytes(block?.thinking) + textBytes(block?.name)
        if (block?.input !== undefined) this.generatedBytes += textBytes(JSON.stringify(block.input))
      }
    }
  }

  private answer(answer: WireAnswer | undefined): void {
    if (!answer) return
    if (typeof answer.type === "string" && !Array.isArray(answer.choices)) {
      this.anthropicAnswer(answer)
      return
    }
    if (typeof answer.usage === "object" && answer.usage !== null) this.usage = toUsage(answer.usage)
    if (!Array.isArray(answer.choices)) return
    for (const choice of answer.choices) this.generatedBytes += outputBytes(choice?.delta ?? choice?.message)
  }
}
