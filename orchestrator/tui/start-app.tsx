// `perstack start`: pick an Expert (or a job), give a query, watch the job live, answer its questions, follow up.
import { useApp, useInput } from "ink"
import { useEffect, useRef, useState } from "react"
import type { Job } from "../../runtime/protocol/job.ts"
import type { RunOptions } from "../api/run.ts"
import { treeOrder } from "../job-tree/conversation-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { HistoryBrowser } from "./history-browser.tsx"
import { LiveView } from "./live-view.tsx"
import { Picker } from "./picker.tsx"
import {
  afterJob,
  type JobRequest,
  type Phase,
  phaseForPick,
  phaseForResume,
  type StartExit,
} from "./start-phases.ts"
import { AnswerScreen, FollowUpScreen, QueryScreen } from "./start-screens.tsx"
import { useLiveJob } from "./use-live-job.ts"

/** Everything of a run request but what the screens decide. */
export type BaseRequest = Omit<
  RunOptions,
  "expert" | "query" | "continueJob" | "resumeFrom" | "interactiveAnswer"
>

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

export type { Phase as StartPhase, StartExit } from "./start-phases.ts"

export function StartApp(props: StartAppProps) {
  const { exit } = useApp()
  const [phase, setPhase] = useState<Phase>(props.initial)
  const [focus, setFocus] = useState<string | undefined>()
  const [stopping, setStopping] = useState(false)
  const [startedAt] = useState(Date.now())
  const [lastOutcome, setLastOutcome] = useState<string>()
  const job = useLiveJob({ ...(props.signal ? { signal: props.signal } : {}) })
  const { frame, now } = useTicker(job.running)
  const started = useRef<JobRequest | undefined>(undefined)

  const finish = (result: StartExit) => {
    props.onExit(result)
    exit()
  }
  const run = (request: JobRequest) => setPhase({ kind: "running", request })

  useEffect(() => {
    if (phase.kind !== "running" || started.current === phase.request) return
    started.current = phase.request
    const request = phase.request
    setStopping(false)
    void job.start({ ...props.base, ...request }).then((outcome) => {
      const next = afterJob(request, outcome)
      if ("exit" in next) return finish(next.exit)
      if (next.lastOutcome) setLastOutcome(next.lastOutcome)
      setPhase(next.phase)
    })
  })

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

  const liveView = (options: { focusId?: string; footer?: string }) => (
    <LiveView
      state={job.state}
      frame={frame}
      elapsedMs={now - startedAt}
      {...(options.footer ? { footer: options.footer } : {})}
      {...(options.focusId ? { focusId: options.focusId } : {})}
      {...(props.provider ? { provider: props.provider } : {})}
    />
  )
  const latest = job.state.latest ? { focusId: job.state.latest } : {}
  const prompt = { onRun: run, onQuit: finish }
  switch (phase.kind) {
    case "pick":
      return (
        <Picker
          experts={props.experts}
          jobs={props.jobs}
          onPick={(picked) => setPhase(phaseForPick(picked))}
          onHistory={() => setPhase({ kind: "history" })}
          onQuit={() => finish({ code: 0 })}
        />
      )
    case "history":
      return (
        <HistoryBrowser
          store={props.store}
          {...(phase.jobId ? { jobId: phase.jobId } : {})}
          onResume={(point) => setPhase(phaseForResume(point))}
          onQuit={() => finish({ code: 0 })}
        />
      )
    case "query":
      return <QueryScreen phase={phase} {...prompt} />
    case "running":
      return liveView({
        footer: stopping
          ? "Stopping every sandbox… (Ctrl-C again to quit at once)"
          : "↑↓ focus · f: follow · Ctrl-C: stop",
        ...(focus ? { focusId: focus } : latest),
      })
    case "answer":
      return <AnswerScreen phase={phase} live={liveView(latest)} {...prompt} />
    case "followUp":
      return (
        <FollowUpScreen
          phase={phase}
          live={liveView(latest)}
          {...prompt}
          {...(lastOutcome ? { lastOutcome } : {})}
        />
      )
  }
}

/** The clock and the spinner: they tick only while a job runs. */
function useTicker(running: boolean): { frame: number; now: number } {
  const [frame, setFrame] = useState(0)
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    if (!running) return
    const timer = setInterval(() => {
      setFrame((value) => value + 1)
      setNow(Date.now())
    }, 250)
    return () => clearInterval(timer)
  }, [running])
  return { frame, now }
}
