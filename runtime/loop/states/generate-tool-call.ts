// GeneratingToolCall: ask the model for its next move, with every tool offered.
import { RAW_ARGUMENTS_KEY } from "../../llm/chat-messages.ts"
import type { Generation } from "../../llm/generate.ts"
import type { ToolCall } from "../../protocol/tool.ts"
import { finishStep, type LoopContext, snapshot } from "../context.ts"
import { generate, retryStep } from "../generation.ts"

/** Finish reasons that mean "the model is done talking" (providers differ in spelling). */
const NATURAL_STOP = new Set(["stop", "end_turn", "eos", "tool_calls", "function_call", "stop_sequence"])

export async function generateToolCall(ctx: LoopContext) {
  const tools = ctx.skills.tools.map((tool) => ({
    name: tool.llmName,
    description: tool.description,
    parameters: tool.parameters,
  }))
  const result = await generate(ctx, { tools, runResult: false })
  if ("stopped" in result) return result.stopped
  const { generation } = result

  if (generation.toolCalls.length > 0) {
    const calls = generation.toolCalls.map((call) => toToolCall(ctx, call))
    const message = ctx.build.expert({
      text: generation.text,
      reasoning: generation.reasoning,
      thinking: generation.thinking,
      toolCalls: calls.map(({ call, llmName }) => ({ id: call.id, llmName, args: call.args })),
    })
    const order = { tool: 0, delegate: 1, interactive: 2 } as const
    const toolCalls = calls
      .map(({ call, llmName }) => ({ call, rank: order[ctx.skills.byLlmName(llmName)?.kind ?? "tool"] }))
      .sort((a, b) => a.rank - b.rank)
      .map(({ call }) => call)
    ctx.checkpoint.messages.push(message)
    ctx.checkpoint.retryCount = 0
    ctx.step.newMessages.push(message)
    ctx.step.toolCalls = toolCalls
    return ctx.events.run("callTools", { newMessage: message, toolCalls, usage: generation.usage })
  }

  if (generation.text.trim() !== "" && NATURAL_STOP.has(generation.finishReason)) {
    // No tool call: the text is the final answer (implicit completion, as in the original).
    const message = ctx.build.expert({
      text: generation.text,
      reasoning: generation.reasoning,
      thinking: generation.thinking,
      toolCalls: [],
    })
    ctx.checkpoint.messages.push(message)
    ctx.step.newMessages.push(message)
    return ctx.events.run("completeRun", {
      checkpoint: snapshot(ctx, "completed"),
      step: finishStep(ctx),
      text: generation.text,
      usage: ctx.step.usage,
    })
  }
  return retryStep(ctx, generation)
}

function toToolCall(
  ctx: LoopContext,
  call: Generation["toolCalls"][number],
): { call: ToolCall; llmName: string } {
  const entry = ctx.skills.byLlmName(call.name)
  let args: Record<string, unknown>
  try {
    const parsed: unknown = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments)
    args =
      typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : { [RAW_ARGUMENTS_KEY]: call.arguments }
  } catch {
    args = { [RAW_ARGUMENTS_KEY]: call.arguments }
  }
  return {
    call: {
      id: call.id || `call_${ctx.ids()}`,
      skillName: entry?.skillName ?? "unknown",
      toolName: entry?.toolName ?? (call.name || "unnamed"),
      args,
    },
    llmName: call.name || "unnamed",
  }
}
