// `perstack start`'s screens as phases, and the pure steps between them: what a pick, a finished job or a chosen
// resume point leads to. No Ink here: each step is a plain function of what happened.
import type { ToolCall } from "../../runtime/protocol/tool.ts"
import type { ResumePoint } from "./history-browser.tsx"
import type { Picked } from "./picker.tsx"
import type { JobOutcome } from "./use-live-job.ts"

export interface JobRequest {
  expert: string
  query?: string
  continueJob?: string
  resumeFrom?: string
  interactiveAnswer?: boolean
}

export type Phase =
  | { kind: "pick" }
  | { kind: "history"; jobId?: string }
  | { kind: "query"; expert: string; continueJob?: string; resumeFrom?: string; title: string }
  | { kind: "running"; request: JobRequest }
  | { kind: "answer"; expert: string; jobId: string; question?: ToolCall }
  | { kind: "followUp"; expert: string; jobId: string; headline: string }

/** How the app ended, for the line printed after it (and the exit code). */
export interface StartExit {
  code: number
  message?: string
}

/** A new job for an Expert; a job waiting for an answer is answered; any other job is continued. */
export function phaseForPick(picked: Picked): Phase {
  if (picked.kind === "expert") {
    return { kind: "query", expert: picked.expertKey, title: `New job for ${picked.expertKey}` }
  }
  const { job } = picked
  if (job.status === "stoppedByInteractiveTool") {
    return { kind: "answer", expert: job.coordinatorExpertKey, jobId: job.id }
  }
  return {
    kind: "query",
    expert: job.coordinatorExpertKey,
    continueJob: job.id,
    title: `Continue job ${job.id} (${job.coordinatorExpertKey}, ${job.status})`,
  }
}

export function phaseForResume(point: ResumePoint): Phase {
  return {
    kind: "query",
    expert: point.expertKey,
    continueJob: point.jobId,
    resumeFrom: point.checkpointId,
    title: `Resume ${point.expertKey} from step ${point.stepNumber} of job ${point.jobId}`,
  }
}

/** What a finished job leads to: its question, a follow-up prompt, or the end of the app (a stop, a failure). */
export function afterJob(
  request: JobRequest,
  outcome: JobOutcome,
): { exit: StartExit } | { phase: Phase; lastOutcome?: string } {
  if ("error" in outcome) return { exit: { code: 2, message: `perstack start: ${outcome.error.message}` } }
  const { result } = outcome
  const jobId = result.job.id
  switch (result.status) {
    case "stoppedByInteractiveTool": {
      const question = result.checkpoint?.pendingToolCalls?.[0]
      return { phase: { kind: "answer", expert: request.expert, jobId, ...(question ? { question } : {}) } }
    }
    case "stoppedByCancel": {
      const resumeHint = `perstack start ${request.expert} --continue-job ${jobId}`
      return {
        exit: { code: 130, message: `perstack: job ${jobId} stopped; it stays resumable:\n  ${resumeHint}` },
      }
    }
    default: {
      const headline =
        result.status === "completed"
          ? "Completed."
          : result.status === "stoppedByError"
            ? `Stopped by an error: ${result.error ?? ""}`
            : "Out of steps (continue with a larger --max-steps)."
      return {
        phase: { kind: "followUp", expert: request.expert, jobId, headline },
        lastOutcome: `job ${jobId} ${result.status}`,
      }
    }
  }
}

export function questionText(call: ToolCall | undefined): string {
  if (!call) return "(see the run above)"
  const question = call.args.question ?? call.args.text ?? call.args.message
  return typeof question === "string" ? question : JSON.stringify(call.args)
}
