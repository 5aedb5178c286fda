// Continues a conversation a stop interrupted: reuses what its delegates finished, resumes what they had not.

import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { type Outcome, runConversation, runDelegates } from "./conversation.ts"
import type { JobContext } from "./job-context.ts"
import { CRASH_CODES, RecoveryTracker } from "./recovery.ts"
import type { StepBudget } from "./step-budget.ts"

/** The user message a run gets when it picks up after an interruption. */
export const CONTINUE_TEXT = "The run was interrupted. Continue the task where you left off."

export function finalText(checkpoint: Checkpoint): string {
  const last = checkpoint.messages.findLast((message) => message.type === "expertMessage")
  if (last?.type !== "expertMessage") return ""
  return last.contents.flatMap((part) => (part.type === "textPart" ? [part.text] : [])).join("")
}

/** The last segment of each conversation under `parentRunId`, by the tool call that started it. */
async function childSegments(job: JobContext, parentRunId: string): Promise<Map<string, Run>> {
  const latest = new Map<string, Run>()
  for (const run of await job.options.store.listRuns(job.job.id)) {
    if (run.parentRunId !== parentRunId || !run.parentToolCallId) continue
    const seen = latest.get(run.parentToolCallId)
    if (!seen || run.startedAt >= seen.startedAt) latest.set(run.parentToolCallId, run)
  }
  return latest
}

/**
 * Picks up the conversation whose last segment is `run`: an interrupted delegation is finished first
 * (recursively), a stopped run is continued with CONTINUE_TEXT or `text`, a finished one is reported as it is.
 */
export async function resumeInterrupted(
  job: JobContext,
  run: Run,
  budget: StepBudget,
  text?: string,
): Promise<Outcome | undefined> {
  if (!run.lastCheckpointId) return undefined
  const checkpoint = await job.options.store.readCheckpoint(job.job.id, run.lastCheckpointId)
  if (!checkpoint)
    throw new PerstackError("store.missing", `checkpoint ${run.lastCheckpointId} of run ${run.id} is missing`)
  const parent =
    run.parentRunId && run.parentToolCallId
      ? { runId: run.parentRunId, toolCallId: run.parentToolCallId }
      : undefined
  const start = {
    expertKey: run.expertKey,
    ...(parent ? { parent } : {}),
    resumedFrom: checkpoint.id,
    budget,
  }

  switch (checkpoint.status) {
    case "completed":
      return text === undefined
        ? { kind: "completed", text: finalText(checkpoint), checkpoint }
        : runConversation(job, { ...start, input: { type: "continue", checkpoint, text } })
    case "stoppedByError": {
      // A sandbox (or the orchestrator) that died is resumed from its event log: finished calls are not run again.
      if (checkpoint.error?.code && CRASH_CODES.has(checkpoint.error.code)) {
        const tracker = new RecoveryTracker()
        for await (const event of job.options.store.readEvents(job.job.id, run.id)) tracker.observe(event)
        const recovery = await tracker.recoveryInput(job.options.config, run.expertKey, async (id) => {
          const stored = await job.options.store.readCheckpoint(job.job.id, id)
          if (!stored)
            throw new PerstackError("store.missing", `checkpoint ${id} of run ${run.id} is missing`)
          return stored.messages
        })
        if (!recovery) return undefined
        const outcome = await runConversation(job, { ...start, input: recovery })
        if (text === undefined || outcome.kind !== "completed") return outcome
        return runConversation(job, {
          ...start,
          resumedFrom: outcome.checkpoint.id,
          input: { type: "continue", checkpoint: outcome.checkpoint, text },
        })
      }
      return text === undefined
        ? { kind: "error", checkpoint, message: checkpoint.error?.message ?? "the run failed" }
        : runConversation(job, { ...start, input: { type: "continue", checkpoint, text } })
    }
    case "stoppedByInteractiveTool":
      return { kind: "interactive", checkpoint }
    case "stoppedByDelegate": {
      const children = await childSegments(job, run.id)
      const toolResults = await runDelegates(job, checkpoint, run.id, budget, async (target, share) => {
        const child = children.get(target.toolCallId)
        return child ? resumeInterrupted(job, child, share) : undefined
      })
      if (job.stopCause) return { kind: "cancelled", checkpoint }
      const outcome = await runConversation(job, {
        ...start,
        input: { type: "resume", checkpoint, toolResults },
      })
      // A follow-up query given with --continue-job goes on once the interrupted work is done.
      if (text === undefined || outcome.kind !== "completed") return outcome
      return runConversation(job, {
        ...start,
        resumedFrom: outcome.checkpoint.id,
        input: { type: "continue", checkpoint: outcome.checkpoint, text },
      })
    }
    default:
      // stoppedByCancel, stoppedByExceededMaxSteps, proceeding: carry on from the last finished step.
      if (checkpoint.messages.length === 0) return undefined
      return runConversation(job, {
        ...start,
        input: { type: "continue", checkpoint, text: text ?? CONTINUE_TEXT },
      })
  }
}
