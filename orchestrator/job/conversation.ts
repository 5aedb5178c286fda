// Drives one Expert's conversation across segments: run, fan out to delegates, resume with their results.

import { backoffDelay, sleep } from "../../runtime/host/sandbox-process.ts"
import type { Checkpoint, DelegationTarget } from "../../runtime/protocol/checkpoint.ts"
import type { TerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import type { RunInput } from "../../runtime/protocol/run-spec.ts"
import type { ToolResult } from "../../runtime/protocol/tool.ts"
import type { JobContext } from "./job-context.ts"
import { prewarm } from "./prewarm.ts"
import { buildRunSpec } from "./run-spec-factory.ts"
import { runInSandbox, type SegmentLinks } from "./sandbox-run.ts"
import type { StepBudget } from "./step-budget.ts"

export type Outcome =
  | { kind: "completed"; text: string; checkpoint: Checkpoint }
  | { kind: "interactive"; checkpoint: Checkpoint }
  | { kind: "maxSteps"; checkpoint?: Checkpoint }
  | { kind: "error"; checkpoint: Checkpoint; message: string }
  | { kind: "cancelled"; checkpoint?: Checkpoint }

export interface ConversationStart {
  expertKey: string
  input: RunInput
  /** the caller's segment and tool call, for a delegate */
  parent?: { runId: string; toolCallId: string }
  resumedFrom?: string
  /** the steps this conversation (with its delegates) may take */
  budget: StepBudget
}

/** Runs segments until the conversation completes, stops for the user, fails, or the job stops. */
export async function runConversation(job: JobContext, start: ConversationStart): Promise<Outcome> {
  let input = start.input
  let resumedFrom = start.resumedFrom
  let retry: { attempt: number; retryOf: string } | undefined
  for (;;) {
    const from = input.type === "query" ? {} : { checkpoint: input.checkpoint }
    if (job.stopCause) return { kind: "cancelled", ...from }
    // No budget left: do not start a sandbox only to have it stop at once.
    if (start.budget.available === 0) return { kind: "maxSteps", ...from }
    const runId = job.options.ids()
    const links: SegmentLinks = {
      ...(start.parent ? { parentRunId: start.parent.runId, parentToolCallId: start.parent.toolCallId } : {}),
      ...(resumedFrom ? { resumedFrom } : {}),
      ...retry,
    }
    // Its delegates' sandboxes start while it thinks (a backend with a warm pool keeps them for their runs), and one
    // more, for its own resume after them when it has their shape (the usual case: the same provider, no skills).
    // A conversation's first segment asks as it starts, and again once its own sandbox is taken (which may have been
    // one of them: else its resume gets the one launched only as its delegate started, still loading when a quick
    // delegate answers). A later segment asks once its model has begun to answer, and not if it answers at once with
    // its final answer: a launch takes the CPU a start needs, and on the way from a delegate's answer to the resume's
    // first LLM request two launches were a third of it.
    const delegates = job.options.config.experts[start.expertKey]?.delegates ?? []
    const askAhead = delegates.length > 0 ? () => prewarm(job, delegates, 2) : undefined
    if (input.type === "query") askAhead?.()
    const hooks = input.type === "query" ? { onStarted: askAhead } : { onAnswering: askAhead }
    const segment = await job.limiter.run(async () => {
      // Held once a place is free, not before: a sibling that ran meanwhile may have taken the last step.
      const lease = start.budget.reserve()
      if (lease.steps === 0) return undefined
      const spec = buildRunSpec({
        config: job.options.config,
        settings: job.options.settings,
        jobId: job.job.id,
        runId,
        expertKey: start.expertKey,
        isDelegated: start.parent !== undefined,
        input,
        stepNumber: job.job.totalSteps,
        stepBudget: lease.steps,
        skillLocks: job.options.skillLocksFor?.(start.expertKey),
      })
      try {
        return await job.segment(runInSandbox(job, spec, links, lease, hooks))
      } finally {
        lease.release()
      }
    })
    if (!segment) return { kind: "maxSteps", ...from }
    const { terminal, checkpoint, recovery } = segment
    // The sandbox died (killed, out of memory, node lost): resume the step in flight in a fresh one, a few times.
    const attempt = retry?.attempt ?? 1
    if (recovery && !job.stopCause && attempt <= job.options.settings.crashRetries) {
      await sleep(
        backoffDelay({
          attempt,
          policy: { baseMs: job.options.settings.crashRetryBaseMs, capMs: 30_000, maxRetryAfterMs: 0 },
        }),
      )
      input = recovery
      resumedFrom = terminal.checkpoint.id
      retry = { attempt: attempt + 1, retryOf: runId }
      continue
    }
    retry = undefined
    const outcome = outcomeOf(job, terminal, checkpoint)
    if (outcome) return outcome
    // stopRunByDelegate: the delegates run (each in its own sandbox), then this conversation resumes, in a sandbox
    // started meanwhile.
    prewarm(job, [start.expertKey])
    const toolResults = await runDelegates(job, checkpoint, runId, start.budget)
    if (job.stopCause) return { kind: "cancelled", checkpoint }
    input = { type: "resume", checkpoint, toolResults }
    resumedFrom = checkpoint.id
  }
}

/** `checkpoint` is the terminal event's, whole. */
function outcomeOf(job: JobContext, terminal: TerminalEvent, checkpoint: Checkpoint): Outcome | undefined {
  switch (terminal.type) {
    case "completeRun":
      return { kind: "completed", text: terminal.text, checkpoint }
    case "stopRunByInteractiveTool":
      return { kind: "interactive", checkpoint }
    case "stopRunByExceededMaxSteps":
      return { kind: "maxSteps", checkpoint }
    case "stopRunByError":
      return checkpoint.status === "stoppedByCancel" || job.stopCause
        ? { kind: "cancelled", checkpoint }
        : { kind: "error", checkpoint, message: terminal.error.message }
    case "stopRunByDelegate":
      return undefined
  }
}

/** Every delegate call of the step, in parallel (bounded by the job's concurrency), each to a tool result. */
export async function runDelegates(
  job: JobContext,
  checkpoint: Checkpoint,
  parentRunId: string,
  budget: StepBudget,
  resume?: (target: DelegationTarget, share: StepBudget) => Promise<Outcome | undefined>,
): Promise<ToolResult[]> {
  const targets = checkpoint.delegateTo ?? []
  const shares = budget.split(targets.length)
  return Promise.all(
    targets.map(async (target, index): Promise<ToolResult> => {
      const share = shares[index] ?? budget
      const outcome =
        (await resume?.(target, share)) ??
        (await runConversation(job, {
          expertKey: target.expert.key,
          input: {
            type: "query",
            text: target.query,
            delegatedBy: {
              expert: checkpoint.expert,
              toolCallId: target.toolCallId,
              toolName: target.toolName,
              checkpointId: checkpoint.id,
              runId: parentRunId,
            },
          },
          parent: { runId: parentRunId, toolCallId: target.toolCallId },
          budget: share,
        }))
      return delegateResult(job, target, outcome)
    }),
  )
}

/** A delegate's answer, or its failure as an error result: the parent decides what to do, the job goes on. */
function delegateResult(job: JobContext, target: DelegationTarget, outcome: Outcome): ToolResult {
  const base = {
    id: target.toolCallId,
    skillName: `delegate/${target.expert.key}`,
    toolName: target.expert.key,
  }
  const text = (value: string) => [{ type: "textPart" as const, id: job.options.ids(), text: value }]
  switch (outcome.kind) {
    case "completed":
      return { ...base, result: text(outcome.text) }
    case "error":
      return {
        ...base,
        result: text(`The delegate "${target.expert.key}" failed: ${outcome.message}`),
        isError: true,
      }
    case "maxSteps":
      return {
        ...base,
        result: text(
          `The delegate "${target.expert.key}" used up its share of the job's steps before finishing.`,
        ),
        isError: true,
      }
    case "interactive":
      return {
        ...base,
        result: text(
          `The delegate "${target.expert.key}" stopped to ask the user, which delegates cannot do.`,
        ),
        isError: true,
      }
    case "cancelled":
      return {
        ...base,
        result: text(`The delegate "${target.expert.key}" was stopped before finishing.`),
        isError: true,
      }
  }
}
