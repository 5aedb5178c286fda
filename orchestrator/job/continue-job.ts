// Where a continued job starts: the coordinator's last checkpoint (or a chosen one), an answer, or a follow-up.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { Job } from "../../runtime/protocol/job.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { ToolResult } from "../../runtime/protocol/tool.ts"
import type { JobStore } from "../store/job-store.ts"
import { type Outcome, runConversation } from "./conversation.ts"
import { finalizeInFlightRuns } from "./finalize-in-flight.ts"
import type { JobContext } from "./job-context.ts"
import { CRASH_CODES } from "./recovery.ts"
import { resumeInterrupted } from "./resume-interrupted.ts"
import type { StepBudget } from "./step-budget.ts"

async function coordinatorSegments(store: JobStore, job: Job): Promise<Run[]> {
  const runs = await store.listRuns(job.id)
  return runs.filter((run) => !run.parentRunId && run.expertKey === job.coordinatorExpertKey)
}

/** The original's two forms of `-i`: the answer's text, or JSON naming the tool call. */
function answerFor(checkpoint: Checkpoint, query: string, id: () => string): ToolResult {
  const pending = checkpoint.pendingToolCalls ?? []
  let text = query
  let toolCallId: string | undefined
  try {
    const parsed = JSON.parse(query) as { toolCallId?: unknown; text?: unknown }
    if (typeof parsed.toolCallId === "string" && typeof parsed.text === "string") {
      toolCallId = parsed.toolCallId
      text = parsed.text
    }
  } catch {
    // plain text
  }
  const call = toolCallId ? pending.find((candidate) => candidate.id === toolCallId) : pending[0]
  if (!call) {
    throw new PerstackError(
      "job.noPendingCall",
      toolCallId
        ? `the job is not waiting on tool call ${toolCallId} (pending: ${pending.map((c) => c.id).join(", ") || "none"})`
        : "the job is not waiting for an answer",
    )
  }
  return {
    id: call.id,
    skillName: call.skillName,
    toolName: call.toolName,
    result: [{ type: "textPart", id: id(), text }],
  }
}

export interface ContinueRequest {
  jobId: string
  fromCheckpointId?: string
  interactiveAnswer?: boolean
}

/** Where a continued job starts, once the request has been checked against the job's records. */
type ContinuePlan =
  | { kind: "resumeFrom"; checkpoint: Checkpoint; text: string }
  | { kind: "rerunFrom"; checkpoint: Checkpoint }
  | { kind: "fromQuery"; text: string }
  | { kind: "answer"; checkpoint: Checkpoint; toolResult: ToolResult }
  | { kind: "interrupted"; last: Run; text?: string }

export interface PlanContinueOptions {
  store: JobStore
  job: Job
  expertKey: string
  request: ContinueRequest
  query: string | undefined
  ids: () => string
}

/**
 * Checks a continue request against the job's records and says where the job starts, reading only: every refusal
 * is thrown here, before the job is touched (a refused command changes nothing on disk). A coordinator segment
 * still marked in flight (its orchestrator died) counts as interrupted: it is closed from its log when the job starts.
 */
export async function planContinue(options: PlanContinueOptions): Promise<ContinuePlan> {
  const { store, job, expertKey, request, query } = options
  if (request.fromCheckpointId) {
    // --resume-from: back to an earlier checkpoint of the coordinator, with a new message.
    const checkpoint = await store.readCheckpoint(job.id, request.fromCheckpointId)
    if (!checkpoint)
      throw new PerstackError(
        "checkpoint.notFound",
        `no checkpoint ${request.fromCheckpointId} in job ${job.id}`,
      )
    if (checkpoint.expert.key !== expertKey) {
      throw new PerstackError(
        "checkpoint.wrongExpert",
        `checkpoint ${checkpoint.id} belongs to "${checkpoint.expert.key}"; only the coordinator's checkpoints can be resumed`,
      )
    }
    if (query !== undefined && query !== "") return { kind: "resumeFrom", checkpoint, text: query }
    // Without a query, a checkpoint taken mid-run is run again from there (time travel); an ended one needs one.
    if (checkpoint.status === "proceeding") return { kind: "rerunFrom", checkpoint }
    throw new PerstackError(
      "query.missing",
      `checkpoint ${checkpoint.id} is ${checkpoint.status}: --resume-from needs a query to continue with (without one, only a checkpoint taken mid-run, status proceeding, runs again from there)`,
    )
  }
  const last = (await coordinatorSegments(store, job)).at(-1)
  const inFlight = last !== undefined && last.finishedAt === undefined
  if (request.interactiveAnswer && inFlight) {
    throw new PerstackError(
      "job.notWaiting",
      `job ${job.id} is not waiting for an answer (its orchestrator stopped while it ran: continue it without -i)`,
    )
  }
  if (inFlight) return { kind: "interrupted", last, ...(query ? { text: query } : {}) }
  if (!last?.lastCheckpointId) {
    // It never reached a first step (the orchestrator died early): start it again from its query.
    const text = query ?? job.query
    if (text === undefined) {
      throw new PerstackError("query.missing", `job ${job.id} has no checkpoint yet: give a query`)
    }
    return { kind: "fromQuery", text }
  }
  const checkpoint = await store.readCheckpoint(job.id, last.lastCheckpointId)
  if (!checkpoint)
    throw new PerstackError(
      "store.missing",
      `checkpoint ${last.lastCheckpointId} of job ${job.id} is missing`,
    )

  if (request.interactiveAnswer) {
    if (checkpoint.status !== "stoppedByInteractiveTool") {
      throw new PerstackError(
        "job.notWaiting",
        `job ${job.id} is not waiting for an answer (it is ${checkpoint.status})`,
      )
    }
    return { kind: "answer", checkpoint, toolResult: answerFor(checkpoint, query ?? "", options.ids) }
  }
  if (checkpoint.status === "stoppedByInteractiveTool") {
    const call = checkpoint.pendingToolCalls?.[0]
    throw new PerstackError(
      "job.waitingForAnswer",
      `job ${job.id} is waiting for an answer to ${call ? `"${call.toolName}" ${JSON.stringify(call.args)}` : "an interactive tool"}: pass it with -i`,
    )
  }
  // Stopped before its end (Ctrl-C, a timeout, the step budget, a dead sandbox): it goes on where it was.
  const interrupted =
    checkpoint.status === "stoppedByDelegate" ||
    checkpoint.status === "stoppedByCancel" ||
    checkpoint.status === "stoppedByExceededMaxSteps" ||
    (checkpoint.error?.code !== undefined && CRASH_CODES.has(checkpoint.error.code))
  if (!interrupted && (query === undefined || query === "")) {
    throw new PerstackError(
      "query.missing",
      `job ${job.id} ended (${checkpoint.status}): give a query to continue it with`,
    )
  }
  return { kind: "interrupted", last, ...(query ? { text: query } : {}) }
}

export async function continueStart(
  job: JobContext,
  expertKey: string,
  request: ContinueRequest,
  query: string | undefined,
  budget: StepBudget,
): Promise<Outcome> {
  // After the orchestrator died, runs it left in flight are closed from their logs first (sandboxes reaped).
  await finalizeInFlightRuns(job)
  const { store, ids } = job.options
  const plan = await planContinue({ store, job: job.job, expertKey, request, query, ids })
  switch (plan.kind) {
    case "resumeFrom":
      return runConversation(job, {
        expertKey,
        budget,
        resumedFrom: plan.checkpoint.id,
        input: { type: "continue", checkpoint: plan.checkpoint, text: plan.text },
      })
    case "rerunFrom":
      return runConversation(job, {
        expertKey,
        budget,
        resumedFrom: plan.checkpoint.id,
        input: { type: "resume", checkpoint: plan.checkpoint, toolResults: [] },
      })
    case "fromQuery":
      return runConversation(job, { expertKey, budget, input: { type: "query", text: plan.text } })
    case "answer":
      return runConversation(job, {
        expertKey,
        budget,
        resumedFrom: plan.checkpoint.id,
        input: { type: "resume", checkpoint: plan.checkpoint, toolResults: [plan.toolResult] },
      })
    case "interrupted": {
      const outcome = await resumeInterrupted(job, plan.last, budget, plan.text)
      return (
        outcome ??
        runConversation(job, { expertKey, budget, input: { type: "query", text: plan.text ?? "" } })
      )
    }
  }
}
