// Builders for messages and parts, each with a fresh id.
import type { IdGenerator } from "../ids.ts"
import type { GeneratedThinking } from "../llm/generate.ts"
import type {
  ExpertMessage,
  InstructionMessage,
  ToolMessage,
  ToolResultContent,
  UserMessage,
} from "../protocol/message.ts"
import type { ToolCall, ToolResult } from "../protocol/tool.ts"

export function createMessageBuilder(ids: IdGenerator) {
  const text = (value: string) => ({ type: "textPart" as const, id: ids(), text: value })
  return {
    text,
    instruction(value: string): InstructionMessage {
      return { type: "instructionMessage", id: ids(), cache: true, contents: [text(value)] }
    },
    user(value: string): UserMessage {
      return { type: "userMessage", id: ids(), contents: [text(value)] }
    },
    expert(options: {
      text: string
      reasoning: string
      /** the provider's thinking blocks (signed), kept as they came instead of `reasoning` */
      thinking?: readonly GeneratedThinking[] | undefined
      toolCalls: ReadonlyArray<{ id: string; llmName: string; args: Record<string, unknown> }>
    }): ExpertMessage {
      return {
        type: "expertMessage",
        id: ids(),
        contents: [
          ...(options.thinking
            ? options.thinking.map((block) => ({ type: "thinkingPart" as const, id: ids(), ...block }))
            : options.reasoning
              ? [{ type: "thinkingPart" as const, id: ids(), thinking: options.reasoning }]
              : []),
          ...(options.text ? [text(options.text)] : []),
          ...options.toolCalls.map((call) => ({
            type: "toolCallPart" as const,
            id: ids(),
            toolCallId: call.id,
            toolName: call.llmName,
            args: call.args,
          })),
        ],
      }
    },
    /** `llmNameOf` maps a result back to the name the model called it by. */
    tool(results: readonly ToolResult[], llmNameOf: (result: ToolResult) => string): ToolMessage {
      return {
        type: "toolMessage",
        id: ids(),
        contents: results.map((result) => ({
          type: "toolResultPart" as const,
          id: ids(),
          toolCallId: result.id,
          toolName: llmNameOf(result),
          contents: result.result,
          ...(result.isError ? { isError: true } : {}),
        })),
      }
    },
    result(call: ToolCall, contents: ToolResultContent[], isError = false): ToolResult {
      return {
        id: call.id,
        skillName: call.skillName,
        toolName: call.toolName,
        result: contents,
        ...(isError ? { isError: true } : {}),
      }
    },
    errorResult(call: ToolCall, message: string): ToolResult {
      return {
        id: call.id,
        skillName: call.skillName,
        toolName: call.toolName,
        result: [text(JSON.stringify({ error: "ToolError", message }))],
        isError: true,
      }
    },
  }
}
export type MessageBuilder = ReturnType<typeof createMessageBuilder>
