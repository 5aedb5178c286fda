// Where a continued job starts: the coordinator's last checkpoint (or a chosen one), an answer, or a follow-up.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { ToolResult } from "../../runtime/protocol/tool.ts"
import { type Outcome, runConversation } from "./conversation.ts"
import { finalizeInFlightRuns } from "./finalize-in-flight.ts"
import type { JobContext } from "./job-context.ts"
import { CRASH_CODES } from "./recovery.ts"
import { resumeInterrupted } from "./resume-interrupted.ts"
import type { StepBudget } from "./step-budget.ts"

async function coordinatorSegments(job: JobContext): Promise<Run[]> {
  const runs = await job.options.store.listRuns(job.job.id)
  return runs.filter((run) => !run.parentRunId && run.expertKey === job.job.coordinatorExpertKey)
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

export async function continueStart(
  job: JobContext,
  expertKey: string,
  request: { jobId: string; fromCheckpointId?: string; interactiveAnswer?: boolean },
  query: string | undefined,
  budget: StepBudget,
): Promise<Outcome> {
  // After the orchestrator died, runs it left in flight are closed from their logs first (sandboxes reaped).
  await finalizeInFlightRuns(job)
  const segments = await coordinatorSegments(job)
  const last = segments.at(-1)
  if (request.fromCheckpointId) {
    // --resume-from: back to an earlier checkpoint of the coordinator, with a new message.
    const checkpoint = await job.options.store.readCheckpoint(job.job.id, request.fromCheckpointId)
    if (!checkpoint)
      throw new PerstackError(
        "checkpoint.notFound",
        `no checkpoint ${request.fromCheckpointId} in job ${job.job.id}`,
      )
    if (checkpoint.expert.key !== expertKey) {
      throw new PerstackError(
        "checkpoint.wrongExpert",
        `checkpoint ${checkpoint.id} belongs to "${checkpoint.expert.key}"; only the coordinator's checkpoints can be resumed`,
      )
    }
    if (query === undefined || query === "")
      throw new PerstackError("query.missing", "--resume-from needs a query to continue with")
    return runConversation(job, {
      expertKey,
      budget,
      resumedFrom: checkpoint.id,
      input: { type: "continue", checkpoint, text: query },
    })
  }
  if (!last?.lastCheckpointId) {
    // It never reached a first step (the orchestrator died early): start it again from its query.
    const text = query ?? job.job.query
    if (text === undefined) {
      throw new PerstackError("query.missing", `job ${job.job.id} has no checkpoint yet: give a query`)
    }
    return runConversation(job, { expertKey, budget, input: { type: "query", text } })
  }
  const checkpoint = await job.options.store.readCheckpoint(job.job.id, last.lastCheckpointId)
  if (!checkpoint)
    throw new PerstackError(
      "store.missing",
      `checkpoint ${last.lastCheckpointId} of job ${job.job.id} is missing`,
    )

  if (request.interactiveAnswer) {
    if (checkpoint.status !== "stoppedByInteractiveTool") {
      throw new PerstackError(
        "job.notWaiting",
        `job ${job.job.id} is not waiting for an answer (it is ${checkpoint.status})`,
      )
    }
    const toolResults = [answerFor(checkpoint, query ?? "", job.options.ids)]
    return runConversation(job, {
      expertKey,
      budget,
      resumedFrom: checkpoint.id,
      input: { type: "resume", checkpoint, toolResults },
    })
  }
  if (checkpoint.status === "stoppedByInteractiveTool") {
    const call = checkpoint.pendingToolCalls?.[0]
    throw new PerstackError(
      "job.waitingForAnswer",
      `job ${job.job.id} is waiting for an answer to ${call ? `"${call.toolName}" ${JSON.stringify(call.args)}` : "an interactive tool"}: pass it with -i`,
    )
  }
  const interrupted =
    checkpoint.status === "stoppedByDelegate" ||
    checkpoint.status === "stoppedByCancel" ||
    (checkpoint.error?.code !== undefined && CRASH_CODES.has(checkpoint.error.code))
  if (!interrupted && (query === undefined || query === "")) {
    throw new PerstackError(
      "query.missing",
      `job ${job.job.id} ended (${checkpoint.status}): give a query to continue it with`,
    )
  }
  const outcome = await resumeInterrupted(job, last, budget, query === "" ? undefined : query)
  return outcome ?? runConversation(job, { expertKey, budget, input: { type: "query", text: query ?? "" } })
}
