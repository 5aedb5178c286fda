// What the real Messages API refuses, checked by the stand-in before it answers: a missing anthropic-version, a bad
// key, more than four cache_control breakpoints, thinking blocks not signed by it, and a tool-use turn that is sent
// back without its thinking while thinking is on.

/** Anthropic refuses a request with more than this many `cache_control` breakpoints. */
const MAX_BREAKPOINTS = 4

export interface Refusal {
  status: number
  message: string
}

type Json = Record<string, unknown>
const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const blocksOf = (content: unknown): Json[] => (Array.isArray(content) ? content.filter(isRecord) : [])

export function checkHeaders(
  headers: Record<string, string>,
  apiKey: string | undefined,
): Refusal | undefined {
  if (!headers["anthropic-version"]) return { status: 400, message: "anthropic-version: header is required" }
  if (apiKey === undefined) return undefined
  // The key goes in x-api-key, or (as @anthropic-ai/sdk 1.x sends it) as a Bearer token.
  const bearer = headers.authorization?.startsWith("Bearer ") ? headers.authorization.slice(7) : undefined
  const key = headers["x-api-key"] ?? bearer
  if (key === undefined) return { status: 401, message: "x-api-key header is required" }
  if (key !== apiKey) return { status: 401, message: "invalid x-api-key" }
  return undefined
}

/** Every block that may carry a cache_control: system blocks, tools, and each message's content blocks. */
function cacheable(body: Json): Json[] {
  const system = blocksOf(body.system)
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : []
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : []
  return [...system, ...tools, ...messages.flatMap((message) => blocksOf(message.content))]
}

export function checkBody(
  body: Json,
  verify: {
    signature(thinking: string, signature: string): boolean
    redacted(data: string): boolean
    /** false for a Chat Completions script's face, whose scripted tool calls may come without reasoning */
    thinkingBeforeToolUse?: boolean
  },
): Refusal | undefined {
  const bad = (message: string): Refusal => ({ status: 400, message })
  if (typeof body.model !== "string") return bad("model: Field required")
  if (typeof body.max_tokens !== "number") return bad("max_tokens: Field required")
  if (!Array.isArray(body.messages) || body.messages.length === 0) return bad("messages: Field required")
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) return bad(`${key}: Extra inputs are not permitted`)
  }
  const marked = cacheable(body).filter((block) => block.cache_control !== undefined)
  if (marked.length > MAX_BREAKPOINTS)
    return bad(
      `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${marked.length}.`,
    )
  if (marked.some((block) => block.type === "thinking" || block.type === "redacted_thinking"))
    return bad("cache_control cannot be set for thinking blocks")
  const thinking = isRecord(body.thinking) && body.thinking.type === "enabled" ? body.thinking : undefined
  if (thinking) {
    const budget = thinking.budget_tokens
    if (typeof budget !== "number" || budget < 1024)
      return bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if (budget >= body.max_tokens) return bad("`max_tokens` must be greater than `thinking.budget_tokens`")
  }
  const messages = body.messages.filter(isRecord)
  for (const [index, message] of messages.entries()) {
    if (message.role !== "user" && message.role !== "assistant")
      return bad(`messages.${index}.role: Input should be 'user' or 'assistant'`)
    for (const [at, block] of blocksOf(message.content).entries()) {
      if (block.type === "text" && block.text === "")
        return bad(`messages.${index}.content.${at}: text content blocks must be non-empty`)
      if (
        block.type === "thinking" &&
        !(
          typeof block.thinking === "string" &&
          typeof block.signature === "string" &&
          verify.signature(block.thinking, block.signature)
        )
      )
        return bad(`messages.${index}.content.${at}: Invalid \`signature\` in \`thinking\` block`)
      if (
        block.type === "redacted_thinking" &&
        !(typeof block.data === "string" && verify.redacted(block.data))
      )
        return bad(`messages.${index}.content.${at}: Invalid \`data\` in \`redacted_thinking\` block`)
    }
  }
  // With thinking on, the assistant turn whose tool uses the last user turn answers must start with its thinking.
  const last = messages.at(-1)
  const answered = messages.at(-2)
  if (
    thinking &&
    verify.thinkingBeforeToolUse !== false &&
    last?.role === "user" &&
    answered?.role === "assistant"
  ) {
    const blocks = blocksOf(answered.content)
    const first = blocks[0]
    if (
      blocks.some((block) => block.type === "tool_use") &&
      first?.type !== "thinking" &&
      first?.type !== "redacted_thinking"
    ) {
      return bad(
        `messages.${messages.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks).`,
      )
    }
  }
  return undefined
}

const KNOWN_FIELDS = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "tools",
  "tool_choice",
  "thinking",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "metadata",
  "service_tier",
])
