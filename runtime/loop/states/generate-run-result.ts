// GeneratingRunResult: after attemptCompletion, ask for the final answer with no tools offered.
import { finishStep, type LoopContext, snapshot } from "../context.ts"
import { generate, retryStep } from "../generation.ts"

export async function generateRunResult(ctx: LoopContext) {
  if (ctx.completion) {
    const message = ctx.build.tool([ctx.completion], () => "attemptCompletion")
    ctx.checkpoint.messages.push(message)
    ctx.step.newMessages.push(message)
    ctx.completion = undefined
  }
  const result = await generate(ctx, { tools: [], runResult: true })
  if ("stopped" in result) return result.stopped
  const { generation } = result
  if (generation.text.trim() === "") return retryStep(ctx, generation)
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
