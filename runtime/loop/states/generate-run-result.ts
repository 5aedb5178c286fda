// GeneratingRunResult: after attemptCompletion, ask for the final answer with no tools offered.
import { toChatMessages } from "../../llm/chat-messages.ts"
import type { Generation } from "../../llm/generate.ts"
import { finishStep, type LoopContext, snapshot } from "../context.ts"
import { streamEvents } from "../streaming.ts"
import { addGenerationUsage, retryStep, stopByError } from "./generate-tool-call.ts"

export async function generateRunResult(ctx: LoopContext) {
  if (ctx.completion) {
    const message = ctx.build.tool([ctx.completion], () => "attemptCompletion")
    ctx.checkpoint.messages.push(message)
    ctx.step.newMessages.push(message)
    ctx.completion = undefined
  }
  const stream = streamEvents(ctx, { runResult: true })
  let generation: Generation
  try {
    generation = await ctx.llm.generate({
      messages: toChatMessages(ctx.checkpoint.messages),
      tools: [],
      signal: ctx.signal,
      observer: stream.observer,
    })
  } catch (error) {
    await stream.finish()
    return stopByError(ctx, error)
  }
  await stream.finish()
  addGenerationUsage(ctx, generation.usage)
  if (generation.text.trim() === "") return retryStep(ctx, generation)
  const message = ctx.build.expert({ text: generation.text, reasoning: generation.reasoning, toolCalls: [] })
  ctx.checkpoint.messages.push(message)
  ctx.step.newMessages.push(message)
  return ctx.events.run("completeRun", {
    checkpoint: snapshot(ctx, "completed"),
    step: finishStep(ctx),
    text: generation.text,
    usage: ctx.step.usage,
  })
}
