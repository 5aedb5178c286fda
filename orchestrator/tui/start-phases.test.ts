import { describe, expect, it } from "vitest"
import type { Job } from "../../runtime/protocol/job.ts"
import type { JobResult } from "../api/run.ts"
import { afterJob, phaseForPick } from "./start-phases.ts"

const job = (status: Job["status"]) => ({ id: "j1", coordinatorExpertKey: "lead", status }) as Job
const finished = (status: Job["status"], extra: Partial<JobResult> = {}) => ({
  result: { job: job(status), status, ...extra } as JobResult,
})
const request = { expert: "lead", query: "go" }

describe("perstack start's steps between screens", () => {
  it("after a job: its question, a follow-up, or the end of the app with how to resume it", () => {
    const question = { id: "c1", skillName: "ask", toolName: "confirm", args: { question: "Sure?" } }
    expect(
      afterJob(
        request,
        finished("stoppedByInteractiveTool", { checkpoint: { pendingToolCalls: [question] } as never }),
      ),
    ).toEqual({ phase: { kind: "answer", expert: "lead", jobId: "j1", question } })
    expect(afterJob(request, finished("completed"))).toEqual({
      phase: { kind: "followUp", expert: "lead", jobId: "j1", headline: "Completed." },
      lastOutcome: "job j1 completed",
    })
    expect(afterJob(request, finished("stoppedByError", { error: "boom" }))).toMatchObject({
      phase: { headline: "Stopped by an error: boom" },
    })
    expect(afterJob(request, finished("stoppedByCancel"))).toEqual({
      exit: {
        code: 130,
        message: "perstack: job j1 stopped; it stays resumable:\n  perstack start lead --continue-job j1",
      },
    })
    expect(afterJob(request, { error: new Error("no key") } as never)).toEqual({
      exit: { code: 2, message: "perstack start: no key" },
    })
  })

  it("after a pick: a new job's query, the answer a waiting job needs, or a continued job's query", () => {
    expect(phaseForPick({ kind: "expert", expertKey: "lead" })).toEqual({
      kind: "query",
      expert: "lead",
      title: "New job for lead",
    })
    expect(phaseForPick({ kind: "job", job: job("stoppedByInteractiveTool") })).toEqual({
      kind: "answer",
      expert: "lead",
      jobId: "j1",
    })
    expect(phaseForPick({ kind: "job", job: job("completed") })).toEqual({
      kind: "query",
      expert: "lead",
      continueJob: "j1",
      title: "Continue job j1 (lead, completed)",
    })
  })
})
