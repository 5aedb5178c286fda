// The error text for a request that arrives after the script ran out, showing what the model was last told.

const MAX_QUOTED_CHARACTERS = 500

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

/** Message content is a string or an array of parts; non-text parts are named by their type. */
function contentText(content: unknown): string {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return JSON.stringify(content) ?? "(no content)"
  return content
    .map((part) => {
      if (isRecord(part) && typeof part.text === "string") return part.text
      return `[${isRecord(part) && typeof part.type === "string" ? part.type : "part"}]`
    })
    .join(" ")
}

function quote(text: string): string {
  const shown = text.length > MAX_QUOTED_CHARACTERS ? `${text.slice(0, MAX_QUOTED_CHARACTERS)}…` : text
  return JSON.stringify(shown)
}

/** Describes the last user or tool message of a Chat Completions request body. */
export function describeLastUserOrToolMessage(body: unknown): string {
  const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages : []
  const last = messages.findLast(
    (message) => isRecord(message) && (message.role === "user" || message.role === "tool"),
  )
  if (!isRecord(last)) return "the request had no user or tool message"
  const toolCallId = typeof last.tool_call_id === "string" ? ` (tool_call_id ${last.tool_call_id})` : ""
  return `last ${String(last.role)} message${toolCallId}: ${quote(contentText(last.content))}`
}

export function scriptExhaustedMessage(options: { consumed: number; body: unknown }): string {
  return (
    `Scripted LLM: the script is exhausted; all ${options.consumed} scripted step(s) were used ` +
    `and another chat completion was requested; ${describeLastUserOrToolMessage(options.body)}`
  )
}
