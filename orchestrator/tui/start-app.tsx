// `perstack start`: pick an Expert (or a job), give a query, watch the job live, answer its questions, follow up.
import { Box, Text, useApp, useInput } from "ink"
import { useEffect, useRef, useState } from "react"
import type { Job } from "../../runtime/protocol/job.ts"
import type { ToolCall } from "../../runtime/protocol/tool.ts"
import type { RunOptions } from "../api/run.ts"
import { treeOrder } from "../job-tree/conversation-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { HistoryBrowser, type ResumePoint } from "./history-browser.tsx"
import { LiveView } from "./live-view.tsx"
import { Picker } from "./picker.tsx"
import { TextPrompt } from "./text-prompt.tsx"
import { type JobOutcome, useLiveJob } from "./use-live-job.ts"

/** Everything of a run request but what the screens decide. */
export type BaseRequest = Omit<
  RunOptions,
  "expert" | "query" | "continueJob" | "resumeFrom" | "interactiveAnswer"
>

interface JobRequest {
  expert: string
  query?: string
  continueJob?: string
  resumeFrom?: string
  interactiveAnswer?: boolean
}

type Phase =
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

export interface StartAppProps {
  base: BaseRequest
  store: JobStore
  experts: ReadonlyArray<{ key: string; description?: string }>
  jobs: readonly Job[]
  provider?: string
  initial: Phase
  signal?: AbortSignal
  onExit: (exit: StartExit) => void
}

export type { Phase as StartPhase }

export function StartApp(props: StartAppProps) {
  const { exit } = useApp()
  const [phase, setPhase] = useState<Phase>(props.initial)
  const [focus, setFocus] = useState<string | undefined>()
  const [stopping, setStopping] = useState(false)
  const [frame, setFrame] = useState(0)
  const [startedAt] = useState(Date.now())
  const [now, setNow] = useState(Date.now())
  const [lastOutcome, setLastOutcome] = useState<string>()
  const job = useLiveJob({ ...(props.signal ? { signal: props.signal } : {}) })
  const started = useRef<JobRequest | undefined>(undefined)

  const finish = (result: StartExit) => {
    props.onExit(result)
    exit()
  }

  // The clock and the spinner tick only while a job runs.
  useEffect(() => {
    if (!job.running) return
    const timer = setInterval(() => {
      setFrame((value) => value + 1)
      setNow(Date.now())
    }, 250)
    return () => clearInterval(timer)
  }, [job.running])

  useEffect(() => {
    if (phase.kind !== "running" || started.current === phase.request) return
    started.current = phase.request
    const request = phase.request
    setStopping(false)
    void job.start({ ...props.base, ...request }).then((outcome) => settle(request, outcome))
  })

  const settle = (request: JobRequest, outcome: JobOutcome) => {
    if ("error" in outcome) {
      finish({ code: 2, message: `perstack start: ${outcome.error.message}` })
      return
    }
    const { result } = outcome
    const jobId = result.job.id
    const resumeHint = `perstack start ${request.expert} --continue-job ${jobId}`
    switch (result.status) {
      case "stoppedByInteractiveTool": {
        const question = result.checkpoint?.pendingToolCalls?.[0]
        setPhase({ kind: "answer", expert: request.expert, jobId, ...(question ? { question } : {}) })
        return
      }
      case "stoppedByCancel":
        finish({ code: 130, message: `perstack: job ${jobId} stopped; it stays resumable:\n  ${resumeHint}` })
        return
      default: {
        const headline =
          result.status === "completed"
            ? "Completed."
            : result.status === "stoppedByError"
              ? `Stopped by an error: ${result.error ?? ""}`
              : "Out of steps (continue with a larger --max-steps)."
        setLastOutcome(`job ${jobId} ${result.status}`)
        setPhase({ kind: "followUp", expert: request.expert, jobId, headline })
      }
    }
  }

  const rows = treeOrder(job.state)
  useInput((input, key) => {
    if (key.ctrl && input === "c") {
      if (job.running && !stopping) {
        setStopping(true)
        job.stop()
      } else if (job.running) {
        finish({ code: 130, message: "perstack: quit while stopping; the job stays resumable" })
      } else {
        finish({ code: 0, ...(lastOutcome ? { message: `perstack: ${lastOutcome}` } : {}) })
      }
      return
    }
    if (phase.kind !== "running") return
    if (key.upArrow || key.downArrow) {
      const current = rows.findIndex((row) => row.node.id === (focus ?? job.state.latest))
      const nextIndex = Math.max(0, Math.min(rows.length - 1, current + (key.upArrow ? -1 : 1)))
      setFocus(rows[nextIndex]?.node.id)
    } else if (input === "f") setFocus(undefined)
  })

  const resumeFrom = (point: ResumePoint) =>
    setPhase({
      kind: "query",
      expert: point.expertKey,
      continueJob: point.jobId,
      resumeFrom: point.checkpointId,
      title: `Resume ${point.expertKey} from step ${point.stepNumber} of job ${point.jobId}`,
    })

  switch (phase.kind) {
    case "pick":
      return (
        <Picker
          experts={props.experts}
          jobs={props.jobs}
          onPick={(picked) =>
            picked.kind === "expert"
              ? setPhase({
                  kind: "query",
                  expert: picked.expertKey,
                  title: `New job for ${picked.expertKey}`,
                })
              : picked.job.status === "stoppedByInteractiveTool"
                ? setPhase({ kind: "answer", expert: picked.job.coordinatorExpertKey, jobId: picked.job.id })
                : setPhase({
                    kind: "query",
                    expert: picked.job.coordinatorExpertKey,
                    continueJob: picked.job.id,
                    title: `Continue job ${picked.job.id} (${picked.job.coordinatorExpertKey}, ${picked.job.status})`,
                  })
          }
          onHistory={() => setPhase({ kind: "history" })}
          onQuit={() => finish({ code: 0 })}
        />
      )
    case "history":
      return (
        <HistoryBrowser
          store={props.store}
          {...(phase.jobId ? { jobId: phase.jobId } : {})}
          onResume={resumeFrom}
          onQuit={() => finish({ code: 0 })}
        />
      )
    case "query":
      return (
        <Box flexDirection="column">
          <Text color="cyan">{phase.title} · Enter: start · Esc: quit</Text>
          <TextPrompt
            label="Query:"
            onSubmit={(query) =>
              setPhase({
                kind: "running",
                request: {
                  expert: phase.expert,
                  query,
                  ...(phase.continueJob ? { continueJob: phase.continueJob } : {}),
                  ...(phase.resumeFrom ? { resumeFrom: phase.resumeFrom } : {}),
                },
              })
            }
            onCancel={() => finish({ code: 0 })}
          />
        </Box>
      )
    case "running":
      return (
        <LiveView
          state={job.state}
          frame={frame}
          elapsedMs={now - startedAt}
          footer={
            stopping
              ? "Stopping every sandbox… (Ctrl-C again to quit at once)"
              : "↑↓ focus · f: follow · Ctrl-C: stop"
          }
          {...(focus ? { focusId: focus } : job.state.latest ? { focusId: job.state.latest } : {})}
          {...(props.provider ? { provider: props.provider } : {})}
        />
      )
    case "answer":
      return (
        <Box flexDirection="column">
          <LiveView
            state={job.state}
            frame={frame}
            elapsedMs={now - startedAt}
            {...(job.state.latest ? { focusId: job.state.latest } : {})}
            {...(props.provider ? { provider: props.provider } : {})}
          />
          <Text color="yellow">
            {phase.expert} asks{phase.question ? ` (${phase.question.toolName})` : ""}:{" "}
            {questionText(phase.question)}
          </Text>
          <TextPrompt
            label="Answer:"
            onSubmit={(answer) =>
              setPhase({
                kind: "running",
                request: {
                  expert: phase.expert,
                  query: answer,
                  continueJob: phase.jobId,
                  interactiveAnswer: true,
                },
              })
            }
            onCancel={() =>
              finish({
                code: 4,
                message: `perstack: job ${phase.jobId} waits for your answer:\n  perstack start ${phase.expert} --continue-job ${phase.jobId} -i "<answer>"`,
              })
            }
          />
        </Box>
      )
    case "followUp":
      return (
        <Box flexDirection="column">
          <LiveView
            state={job.state}
            frame={frame}
            elapsedMs={now - startedAt}
            {...(job.state.latest ? { focusId: job.state.latest } : {})}
            {...(props.provider ? { provider: props.provider } : {})}
          />
          <Text color="green">
            {phase.headline} Type a follow-up to continue job {phase.jobId}, or Esc to quit.
          </Text>
          <TextPrompt
            label="Follow-up:"
            onSubmit={(query) =>
              setPhase({
                kind: "running",
                request: { expert: phase.expert, query, continueJob: phase.jobId },
              })
            }
            onCancel={() =>
              finish({ code: 0, ...(lastOutcome ? { message: `perstack: ${lastOutcome}` } : {}) })
            }
          />
        </Box>
      )
  }
}

function questionText(call: ToolCall | undefined): string {
  if (!call) return "(see the run above)"
  const question = call.args.question ?? call.args.text ?? call.args.message
  return typeof question === "string" ? question : JSON.stringify(call.args)
}
