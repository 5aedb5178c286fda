// The short states: fold tool results into the conversation, stop for delegates or the user, finish a step.
import type { CheckpointRecord, DelegationTarget } from "../../protocol/checkpoint.ts"
import { calledName, finishStep, type LoopContext, snapshot } from "../context.ts"

/** ResolvingToolResult */
export async function resolveToolResult(ctx: LoopContext) {
  const results = ctx.step.toolResults ?? []
  const message = ctx.build.tool(results, (result) => calledName(ctx, result))
  ctx.checkpoint.messages.push(message)
  ctx.checkpoint.pendingToolCalls = undefined
  ctx.checkpoint.partialToolResults = undefined
  ctx.step.newMessages.push(message)
  return ctx.events.run("finishToolCall", { newMessages: [message] })
}

/** CallingInteractiveTool */
export async function callInteractiveTool(ctx: LoopContext) {
  return ctx.events.run("stopRunByInteractiveTool", {
    checkpoint: snapshot(ctx, "stoppedByInteractiveTool"),
    step: finishStep(ctx),
  })
}

/** CallingDelegate: the orchestrator runs the delegates, each in its own sandbox, and resumes us with their results. */
export async function callDelegate(ctx: LoopContext) {
  const delegateTo: DelegationTarget[] = (ctx.checkpoint.pendingToolCalls ?? []).flatMap((call) => {
    const tool = ctx.skills.tools.find(
      (entry) => entry.kind === "delegate" && entry.skillName === call.skillName,
    )
    if (!tool?.delegate) return []
    const query = typeof call.args.query === "string" ? call.args.query : JSON.stringify(call.args)
    return [
      {
        expert: { key: tool.delegate.key, name: tool.delegate.name, version: tool.delegate.version },
        toolCallId: call.id,
        toolName: tool.llmName,
        query,
      },
    ]
  })
  return ctx.events.run("stopRunByDelegate", {
    checkpoint: snapshot(ctx, "stoppedByDelegate", { delegateTo }),
    step: finishStep(ctx),
  })
}

/** FinishingStep: the step's checkpoint is final; go on to the next step, or stop when the budget is spent. */
export async function finishingStep(ctx: LoopContext) {
  ctx.stepsTaken++
  const step = finishStep(ctx)
  if (ctx.stepsTaken >= ctx.spec.limits.stepBudget) {
    return ctx.events.run("stopRunByExceededMaxSteps", {
      checkpoint: snapshot(ctx, "stoppedByExceededMaxSteps"),
      step,
    })
  }
  const checkpoint = snapshot(ctx, "proceeding")
  // The next step's state is this one under the id it will end with: it continues this checkpoint, adding nothing.
  const stored = { checkpointId: checkpoint.id, messageCount: ctx.checkpoint.messages.length }
  const { history: _, ...fields } = checkpoint
  const nextCheckpoint: CheckpointRecord = {
    ...structuredClone(fields),
    id: ctx.ids(),
    stepNumber: checkpoint.stepNumber + 1,
    history: { ...stored, newMessages: [] },
  }
  const event = ctx.events.run("continueToNextStep", { checkpoint, step, nextCheckpoint })
  ctx.checkpoint = {
    ...ctx.checkpoint,
    ...structuredClone(fields),
    id: nextCheckpoint.id,
    stepNumber: nextCheckpoint.stepNumber,
  }
  ctx.historyBase = stored
  return event
}
