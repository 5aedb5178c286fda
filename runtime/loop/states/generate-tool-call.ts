// GeneratingToolCall: ask the model for its next move, with every tool offered.
import { RAW_ARGUMENTS_KEY, toChatMessages } from "../../llm/chat-messages.ts"
import type { Generation } from "../../llm/generate.ts"
import { ProviderError } from "../../llm/provider-error.ts"
import type { RunError } from "../../protocol/checkpoint.ts"
import type { ToolCall } from "../../protocol/tool.ts"
import { addUsage, type Usage } from "../../protocol/usage.ts"
import { finishStep, type LoopContext, snapshot } from "../context.ts"
import { streamEvents } from "../streaming.ts"

/** Finish reasons that mean "the model is done talking" (providers differ in spelling). */
const NATURAL_STOP = new Set(["stop", "end_turn", "eos", "tool_calls", "function_call", "stop_sequence"])

export async function generateToolCall(ctx: LoopContext) {
  const stream = streamEvents(ctx, { runResult: false })
  let generation: Generation
  try {
    generation = await ctx.llm.generate({
      messages: toChatMessages(ctx.checkpoint.messages),
      tools: ctx.skills.tools.map((tool) => ({
        name: tool.llmName,
        description: tool.description,
        parameters: tool.parameters,
      })),
      signal: ctx.signal,
      observer: stream.observer,
    })
  } catch (error) {
    await stream.finish()
    return stopByError(ctx, error)
  }
  await stream.finish()
  addGenerationUsage(ctx, generation.usage)

  if (generation.toolCalls.length > 0) {
    const calls = generation.toolCalls.map((call) => toToolCall(ctx, call))
    const message = ctx.build.expert({
      text: generation.text,
      reasoning: generation.reasoning,
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

export function addGenerationUsage(ctx: LoopContext, usage: Usage) {
  ctx.checkpoint.usage = addUsage(ctx.checkpoint.usage, usage)
  ctx.step.usage = addUsage(ctx.step.usage, usage)
  if (ctx.contextWindow) {
    // The last prompt plus its answer: how full the window is now (the original summed every step).
    ctx.checkpoint.contextWindowUsage = (usage.inputTokens + usage.outputTokens) / ctx.contextWindow
  }
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

/** The model produced nothing usable: tell it why and try again, up to maxRetries; a retry consumes a step. */
export function retryStep(ctx: LoopContext, generation: Generation) {
  const reason =
    generation.finishReason === "length"
      ? "the response was cut off at the output token limit"
      : generation.text.trim() === ""
        ? `the response had neither text nor a tool call (finish reason "${generation.finishReason}")`
        : `the response ended with finish reason "${generation.finishReason}"`
  const retries = ctx.checkpoint.retryCount ?? 0
  if (retries >= ctx.spec.limits.maxRetries) {
    return stopByError(
      ctx,
      new ProviderError({
        code: "model.noProgress",
        message: `${reason}, ${retries + 1} times in a row; giving up`,
      }),
    )
  }
  const newMessages = [
    ...(generation.text.trim() !== ""
      ? [ctx.build.expert({ text: generation.text, reasoning: "", toolCalls: [] })]
      : []),
    ctx.build.user(
      JSON.stringify({
        error: "InvalidResponse",
        message: `${reason}. Continue: call a tool, or answer with text when done.`,
      }),
    ),
  ]
  ctx.checkpoint.messages.push(...newMessages)
  ctx.checkpoint.retryCount = retries + 1
  ctx.step.newMessages.push(...newMessages)
  return ctx.events.run("retry", { reason, newMessages, usage: generation.usage })
}

export function toRunError(error: unknown): RunError {
  if (error instanceof ProviderError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
      isRetryable: error.isRetryable,
    }
  }
  const err = error instanceof Error ? error : new Error(String(error))
  return { name: err.name, message: err.message, code: "runtime.internal", isRetryable: false }
}

export function stopByError(ctx: LoopContext, error: unknown) {
  const runError = toRunError(error)
  const cancelled = runError.code === "provider.cancelled" || ctx.signal.aborted
  const final = cancelled
    ? { ...runError, name: "Cancelled", code: "run.cancelled", isRetryable: true }
    : runError
  return ctx.events.run("stopRunByError", {
    checkpoint: snapshot(ctx, cancelled ? "stoppedByCancel" : "stoppedByError", { error: final }),
    step: finishStep(ctx),
    error: final,
  })
}
