// The one-line gist of each event type for the text view: what was asked, called, answered or went wrong.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Message } from "../../runtime/protocol/message.ts"
import type { ToolCall, ToolResult } from "../../runtime/protocol/tool.ts"
import { compact, duration, oneLine, plural, quote } from "../text/text-preview.ts"

const TEXT = 100
const SHORT = 60

export function toolCallText(call: Pick<ToolCall, "toolName" | "args">): string {
  return `${call.toolName}(${oneLine(JSON.stringify(call.args), SHORT)})`
}

export function toolResultText(result: Pick<ToolResult, "toolName" | "result" | "isError">): string {
  const text = result.result
    .map((part) => (part.type === "textPart" ? part.text : `[${part.type}]`))
    .join(" ")
  return `${result.isError ? "✗" : "✓"} ${result.toolName}: ${quote(text, SHORT)}`
}

/** The text of a message's text parts (the query in a user message, the answer in an expert message). */
export function messageText(message: Message): string {
  return (message.contents as readonly { type: string; text?: string }[])
    .flatMap((part) => (part.type === "textPart" && part.text !== undefined ? [part.text] : []))
    .join(" ")
}

const tokens = (usage: { inputTokens: number; outputTokens: number }) =>
  `${compact(usage.inputTokens)} in / ${compact(usage.outputTokens)} out`

export function eventDetail(event: PerstackEvent): string {
  switch (event.type) {
    case "sandboxStarted":
      return [
        event.backend,
        event.sandboxId,
        event.image,
        event.resumedFrom ? `resumes ${event.resumedFrom}` : undefined,
        event.attempt ? `attempt ${event.attempt}, retrying ${event.retryOf}` : undefined,
      ]
        .filter(Boolean)
        .join(" ")
    case "sandboxExited": {
      const how = event.signal ? `signal ${event.signal}` : `exit ${event.exitCode ?? "?"}`
      const tail = event.stderrTail
        ? ` · stderr: ${quote(event.stderrTail.split("\n").filter(Boolean).at(-1) ?? "", TEXT)}`
        : ""
      return `${event.reason} (${how}) after ${duration(event.durationMs)}${tail}`
    }
    case "outputRejected":
      return `${event.reason}, ${plural(event.byteLength, "byte")}: ${quote(event.sample, SHORT)}${event.issues ? ` · ${oneLine(event.issues, SHORT)}` : ""}`
    case "initializeRuntime":
      return `${event.expertName} on ${event.model}${event.query !== undefined ? ` ${quote(event.query, TEXT)}` : ""}`
    case "skillStarting":
      return `${event.skillName}: ${oneLine([event.command, ...event.args].join(" "), TEXT)}`
    case "skillConnected":
      return `${event.skillName}${event.totalDurationMs !== undefined ? ` in ${duration(event.totalDurationMs)}` : ""}`
    case "skillStderr":
      return `${event.skillName}: ${quote(event.message, TEXT)}`
    case "skillDisconnected":
      return event.skillName
    case "dockerBuildProgress":
      return `${event.service} ${event.stage}: ${oneLine(event.message, TEXT)}`
    case "dockerContainerStatus":
      return `${event.service} ${event.status}${event.message ? `: ${oneLine(event.message, TEXT)}` : ""}`
    case "heartbeat":
      return ""
    case "proxyAccess":
      return `${event.action} ${event.domain}:${event.port}${event.reason ? ` (${event.reason})` : ""}`
    case "startRun": {
      const query = event.inputMessages.findLast((message) => message.type === "userMessage")
      const results = event.inputMessages.filter((message) => message.type === "toolMessage").length
      if (query) return quote(messageText(query), TEXT)
      return results > 0
        ? `resumes with ${plural(results, "tool message")}`
        : `resumes (was ${event.initialCheckpoint.status})`
    }
    case "startGeneration":
      return plural(event.messageCount, "message")
    case "retry":
      return oneLine(event.reason, TEXT)
    case "callTools":
    case "callDelegate":
      return `${event.toolCalls.map(toolCallText).join(", ")} · ${tokens(event.usage)}`
    case "callInteractiveTool":
      return `${toolCallText(event.toolCall)} · ${tokens(event.usage)}`
    case "resolveToolResults":
      return event.toolResults.map(toolResultText).join(", ")
    case "attemptCompletion":
    case "recordToolResult":
      return toolResultText(event.toolResult)
    case "finishToolCall":
    case "finishAllToolCalls":
      return plural(event.newMessages.length, "message")
    case "resumeToolCalls":
      return `${plural(event.pendingToolCalls.length, "pending call")}, ${plural(event.partialToolResults.length, "result")} so far${event.repeatedToolCallIds?.length ? ` · ${plural(event.repeatedToolCallIds.length, "call")} started before a crash run again: ${event.repeatedToolCallIds.join(", ")}` : ""}`
    case "continueToNextStep":
      return `step ${event.step.stepNumber} done · checkpoint ${event.checkpoint.id}`
    case "stopRunByDelegate":
      return `to ${(event.checkpoint.delegateTo ?? []).map((target) => `${target.expert.key} ${quote(target.query, SHORT)}`).join(", ")}`
    case "stopRunByInteractiveTool": {
      const pending = event.checkpoint.pendingToolCalls ?? []
      return `waiting for the user: ${pending.map(toolCallText).join(", ") || "(no pending call)"}`
    }
    case "stopRunByExceededMaxSteps":
      return `out of steps at step ${event.checkpoint.stepNumber}`
    case "stopRunByError":
      return `${event.error.code ?? event.error.name}: ${oneLine(event.error.message, TEXT)}${event.error.isRetryable ? " (retryable)" : ""}`
    case "completeRun":
      return `${quote(event.text, TEXT)} · ${tokens(event.usage)}`
    case "streamReasoning":
    case "streamRunResult":
      return quote(event.delta, TEXT)
    case "completeStreamingReasoning":
    case "completeStreamingRunResult":
      return quote(event.text, TEXT)
    case "startStreamingReasoning":
    case "startStreamingRunResult":
      return ""
  }
}
