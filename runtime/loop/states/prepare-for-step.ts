// PreparingForStep: resume pending tool calls, fold finished results into a tool message, or generate.
import { emptyUsage } from "../../protocol/usage.ts"
import { calledName, type LoopContext, snapshot } from "../context.ts"

export async function prepareForStep(ctx: LoopContext) {
  ctx.step = {
    stepNumber: ctx.checkpoint.stepNumber,
    newMessages: [],
    usage: emptyUsage(),
    startedAt: ctx.clock(),
  }
  if (ctx.stepsTaken >= ctx.spec.limits.stepBudget) {
    // Only when a segment starts with no budget left: stop before spending anything.
    return ctx.events.run("stopRunByExceededMaxSteps", {
      checkpoint: snapshot(ctx, "stoppedByExceededMaxSteps"),
      step: structuredClone(ctx.step),
    })
  }
  const pending = ctx.checkpoint.pendingToolCalls ?? []
  const partial = ctx.checkpoint.partialToolResults ?? []
  if (pending.length > 0) {
    ctx.step.pendingToolCalls = pending
    ctx.step.partialToolResults = partial
    // After a crash: the calls that had started and run again (their half-done side effects may repeat).
    const input = ctx.spec.input
    const repeated =
      ctx.stepsTaken === 0 && input.type === "resume"
        ? (input.repeatedToolCallIds ?? []).filter((id) => pending.some((call) => call.id === id))
        : []
    return ctx.events.run("resumeToolCalls", {
      pendingToolCalls: pending,
      partialToolResults: partial,
      ...(repeated.length > 0 ? { repeatedToolCallIds: repeated } : {}),
    })
  }
  if (partial.length > 0) {
    const message = ctx.build.tool(partial, (result) => calledName(ctx, result))
    ctx.checkpoint.messages.push(message)
    ctx.checkpoint.partialToolResults = undefined
    ctx.checkpoint.pendingToolCalls = undefined
    ctx.step.toolResults = partial
    ctx.step.newMessages.push(message)
    return ctx.events.run("finishAllToolCalls", { newMessages: [message] })
  }
  return ctx.events.run("startGeneration", { messageCount: ctx.checkpoint.messages.length })
}
