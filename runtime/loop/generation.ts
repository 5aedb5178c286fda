// One generation with its streaming events and usage, and the two ways a generation can go wrong.
import { PerstackError } from "../errors/perstack-error.ts"
import type { Generation, LlmTool } from "../llm/generate.ts"
import { ProviderError } from "../llm/provider-error.ts"
import type { WrittenRunError } from "../protocol/checkpoint.ts"
import { formatBytes, MAX_GENERATION_BYTES } from "../protocol/limits.ts"
import { addUsage, type Usage } from "../protocol/usage.ts"
import { finishStep, type LoopContext, snapshot } from "./context.ts"
import { streamEvents } from "./streaming.ts"

/** Asks the model; a failure that retries cannot mend ends the run (the stopRunByError event is returned). */
export async function generate(
  ctx: LoopContext,
  options: { tools: readonly LlmTool[]; runResult: boolean },
): Promise<
  { generation: Generation } | { stopped: ReturnType<typeof stopByError> | ReturnType<typeof retryStep> }
> {
  const stream = streamEvents(ctx, { runResult: options.runResult })
  let generation: Generation
  try {
    generation = await ctx.llm.generate({
      messages: ctx.checkpoint.messages,
      tools: options.tools,
      signal: ctx.signal,
      observer: stream.observer,
    })
  } catch (error) {
    await stream.finish()
    return { stopped: stopByError(ctx, error) }
  }
  await stream.finish()
  addGenerationUsage(ctx, generation.usage)
  const size = generationBytes(generation)
  if (size > MAX_GENERATION_BYTES) {
    // Never kept: the model is told, and tries again within the cap (a retry, so maxRetries bounds what it costs).
    return {
      stopped: retryStep(ctx, generation, {
        reason: `the response was ${formatBytes(size)}, over the ${formatBytes(MAX_GENERATION_BYTES)} one response may carry (text, reasoning and tool-call arguments together)`,
        advice:
          "Write large content to files a piece at a time (each call's arguments well under that size) and keep the answer short",
        keepText: false,
      }),
    }
  }
  return { generation }
}

/** A generation's size as its events carry it: text, reasoning, and each tool call's name and arguments, as JSON. */
function generationBytes(generation: Generation): number {
  // Most generations are small: a string's length is at least a third of its UTF-8 size (and JSON adds escapes).
  const chars =
    generation.text.length +
    generation.reasoning.length +
    generation.toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0)
  if (chars * 6 <= MAX_GENERATION_BYTES) return chars
  const json = (text: string) => Buffer.byteLength(JSON.stringify(text))
  return (
    json(generation.text) +
    json(generation.reasoning) +
    generation.toolCalls.reduce((sum, call) => sum + json(call.name) + json(call.arguments), 0)
  )
}

export function addGenerationUsage(ctx: LoopContext, usage: Usage) {
  ctx.checkpoint.usage = addUsage(ctx.checkpoint.usage, usage)
  ctx.step.usage = addUsage(ctx.step.usage, usage)
  if (ctx.contextWindow) {
    // The last prompt plus its answer: how full the window is now (the original summed every step).
    ctx.checkpoint.contextWindowUsage = (usage.inputTokens + usage.outputTokens) / ctx.contextWindow
  }
}

/** The model produced nothing usable: tell it why and try again, up to maxRetries; a retry consumes a step. */
export function retryStep(
  ctx: LoopContext,
  generation: Generation,
  why?: { reason: string; advice: string; keepText: boolean },
) {
  const reason =
    why?.reason ??
    (generation.finishReason === "length"
      ? "the response was cut off at the output token limit"
      : generation.text.trim() === ""
        ? `the response had neither text nor a tool call (finish reason "${generation.finishReason}")`
        : `the response ended with finish reason "${generation.finishReason}"`)
  const advice = why?.advice ?? "Continue: call a tool, or answer with text when done"
  const keepText = why?.keepText ?? true
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
    ...(keepText && generation.text.trim() !== ""
      ? [ctx.build.expert({ text: generation.text, reasoning: "", toolCalls: [] })]
      : []),
    ctx.build.user(
      JSON.stringify({
        error: "InvalidResponse",
        message: `${reason}. ${advice}.`,
      }),
    ),
  ]
  ctx.checkpoint.messages.push(...newMessages)
  ctx.checkpoint.retryCount = retries + 1
  ctx.step.newMessages.push(...newMessages)
  return ctx.events.run("retry", { reason, newMessages, usage: generation.usage })
}

export function toRunError(error: unknown): WrittenRunError {
  if (error instanceof ProviderError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
      isRetryable: error.isRetryable,
    }
  }
  if (error instanceof PerstackError) {
    return { name: error.name, message: error.message, code: error.code, isRetryable: error.isRetryable }
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
