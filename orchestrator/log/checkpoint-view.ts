// A checkpoint as text: where it sits, what it waits for, and (with --messages) its conversation.
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { Message } from "../../runtime/protocol/message.ts"
import { compact, oneLine, plural, quote } from "../text/text-preview.ts"
import { toolCallText } from "./event-detail.ts"

export function checkpointLines(
  checkpoint: Checkpoint,
  options: { messages: boolean; verbose: boolean },
): string[] {
  const { usage } = checkpoint
  const lines = [
    `Checkpoint ${checkpoint.id}`,
    `  Expert: ${checkpoint.expert.key} · Run: ${checkpoint.runId} · Step: ${checkpoint.stepNumber} · Status: ${checkpoint.status}`,
    `  Tokens: ${compact(usage.inputTokens)} in (${compact(usage.cachedInputTokens)} cached) / ${compact(usage.outputTokens)} out${
      checkpoint.contextWindowUsage !== undefined
        ? ` · context ${(checkpoint.contextWindowUsage * 100).toFixed(1)}% full`
        : ""
    }`,
  ]
  const by = checkpoint.delegatedBy
  if (by) lines.push(`  Delegated by: ${by.expert.key} (run ${by.runId}, tool call ${by.toolCallId})`)
  if (checkpoint.delegateTo?.length) {
    lines.push(
      `  Delegates to: ${checkpoint.delegateTo.map((target) => `${target.expert.key} ${quote(target.query, 60)}`).join(", ")}`,
    )
  }
  if (checkpoint.pendingToolCalls?.length)
    lines.push(`  Pending: ${checkpoint.pendingToolCalls.map(toolCallText).join(", ")}`)
  if (checkpoint.error) {
    lines.push(
      `  Error: ${checkpoint.error.code ?? checkpoint.error.name}: ${oneLine(checkpoint.error.message, 200)}`,
    )
  }
  for (const todo of checkpoint.todos ?? [])
    lines.push(`  [${todo.completed ? "x" : " "}] ${oneLine(todo.title, 100)}`)
  if (!options.messages) {
    lines.push(`  Messages: ${checkpoint.messages.length} (--messages to list them)`)
    return lines
  }
  lines.push("", `Messages (${checkpoint.messages.length}):`)
  checkpoint.messages.forEach((message, index) => {
    lines.push(...messageLines(message, index + 1, options.verbose))
  })
  return lines
}

const ROLE: Readonly<Record<Message["type"], string>> = {
  instructionMessage: "instruction",
  userMessage: "user",
  expertMessage: "expert",
  toolMessage: "tool",
}

function messageLines(message: Message, number: number, verbose: boolean): string[] {
  const head = `  ${String(number).padStart(3)} ${ROLE[message.type].padEnd(11)}`
  const text = (value: string) => (verbose ? value.replace(/\n/g, "\n      ") : oneLine(value, 100))
  const parts = (message.contents as readonly Message["contents"][number][]).map((part): string => {
    switch (part.type) {
      case "textPart":
        return message.type === "instructionMessage" && !verbose
          ? `(${plural(part.text.length, "character")})`
          : text(part.text)
      case "toolCallPart":
        return `→ ${toolCallText(part)}`
      case "thinkingPart":
        return `(thinking) ${text(part.thinking)}`
      case "toolResultPart": {
        const result = part.contents
          .map((content) => (content.type === "textPart" ? content.text : `[${content.type}]`))
          .join(" ")
        return `← ${part.isError ? "✗ " : ""}${part.toolName}: ${text(result)}`
      }
      default:
        return `[${part.type}${"mimeType" in part ? ` ${part.mimeType}` : ""}]`
    }
  })
  if (parts.length === 0) return [`${head} (empty)`]
  return parts.map((part, index) => (index === 0 ? `${head} ${part}` : `${" ".repeat(head.length)} ${part}`))
}
