// The job history: jobs, then a job's delegation tree (as `perstack log` draws it), then a run's checkpoints, from
// which the coordinator can be resumed. Reads the store through the log's own readers.
import { Box, Text, useInput, useWindowSize } from "ink"
import { useEffect, useState } from "react"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { Job } from "../../runtime/protocol/job.ts"
import type { RunTreeNode } from "../job-tree/run-tree.ts"
import { treeLines } from "../job-tree/tree-lines.ts"
import { type LoadedJob, loadJob } from "../log/job-records.ts"
import { loadRunTree } from "../log/load-run-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { dateTime, oneLine } from "../text/text-preview.ts"
import { checkpointLine } from "./history-rows.ts"
import { type ListItem, SelectList } from "./select-list.tsx"

export interface ResumePoint {
  jobId: string
  expertKey: string
  checkpointId: string
  stepNumber: number
}

type Level =
  | { kind: "jobs" }
  | { kind: "tree"; jobId: string }
  | { kind: "checkpoints"; jobId: string; node: RunTreeNode }

export function HistoryBrowser(props: {
  store: JobStore
  /** open this job's tree directly */
  jobId?: string
  onResume: (point: ResumePoint) => void
  onQuit: () => void
}) {
  const [level, setLevel] = useState<Level>(
    props.jobId ? { kind: "tree", jobId: props.jobId } : { kind: "jobs" },
  )
  const back = () => {
    if (level.kind === "checkpoints") setLevel({ kind: "tree", jobId: level.jobId })
    else if (level.kind === "tree") setLevel({ kind: "jobs" })
    else props.onQuit()
  }
  switch (level.kind) {
    case "jobs":
      return (
        <JobList
          store={props.store}
          onOpen={(jobId) => setLevel({ kind: "tree", jobId })}
          onBack={back}
          onQuit={props.onQuit}
        />
      )
    case "tree":
      return (
        <JobTree
          store={props.store}
          jobId={level.jobId}
          onOpen={(node) => setLevel({ kind: "checkpoints", jobId: level.jobId, node })}
          onBack={back}
          onQuit={props.onQuit}
        />
      )
    case "checkpoints":
      return (
        <Checkpoints
          store={props.store}
          jobId={level.jobId}
          node={level.node}
          onResume={props.onResume}
          onBack={back}
          onQuit={props.onQuit}
        />
      )
  }
}

interface LevelProps {
  store: JobStore
  onBack: () => void
  onQuit: () => void
}

function navigationKeys(props: LevelProps) {
  return (input: string) => {
    if (input === "b") props.onBack()
    else if (input === "q") props.onQuit()
  }
}

/** Esc goes back too; the lists take every other key. */
function useEscapeBack(onBack: () => void) {
  useInput((_, key) => {
    if (key.escape) onBack()
  })
}

function Loading(props: { what: string; error?: string }) {
  return props.error ? <Text color="red">{props.error}</Text> : <Text dimColor>Loading {props.what}…</Text>
}

function JobList(props: LevelProps & { onOpen: (jobId: string) => void }) {
  const { rows } = useWindowSize()
  const [jobs, setJobs] = useState<Job[] | undefined>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    props.store.listJobs().then(setJobs, (cause: Error) => setError(cause.message))
  }, [props.store])
  useEscapeBack(props.onBack)
  if (!jobs) return <Loading what="jobs" {...(error ? { error } : {})} />
  const items: Array<ListItem<string>> = jobs.map((job) => ({
    label: `${statusMark(job.status)} ${job.coordinatorExpertKey} · ${job.status} · ${job.totalSteps} steps · ${dateTime(job.startedAt)} · ${job.id}`,
    value: job.id,
  }))
  return (
    <Box flexDirection="column">
      <Text color="cyan">Jobs · Enter: open · q: quit</Text>
      {items.length === 0 ? (
        <Text dimColor>No jobs yet in {props.store.paths.jobs}</Text>
      ) : (
        <SelectList items={items} height={rows - 2} onSelect={props.onOpen} onKey={navigationKeys(props)} />
      )}
    </Box>
  )
}

function JobTree(props: LevelProps & { jobId: string; onOpen: (node: RunTreeNode) => void }) {
  const { rows } = useWindowSize()
  const [loaded, setLoaded] = useState<{ job: LoadedJob; tree: RunTreeNode[] } | undefined>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    const load = async () => {
      const job = await loadJob(props.store, props.jobId)
      if (!job) throw new Error(`no job "${props.jobId}" in ${props.store.paths.jobs}`)
      return { job, tree: await loadRunTree(props.store, props.jobId, job.runs) }
    }
    load().then(setLoaded, (cause: Error) => setError(cause.message))
  }, [props.store, props.jobId])
  useEscapeBack(props.onBack)
  if (!loaded) return <Loading what="the delegation tree" {...(error ? { error } : {})} />
  const items: Array<ListItem<RunTreeNode>> = treeLines(loaded.tree).map((row) =>
    row.node ? { label: row.text, value: row.node } : { label: row.text, heading: true, faint: true },
  )
  return (
    <Box flexDirection="column">
      <Text color="cyan">
        Runs ({loaded.job.job.coordinatorExpertKey}) · {loaded.job.job.id} · Enter: checkpoints · b: back · q:
        quit
      </Text>
      <SelectList items={items} height={rows - 2} onSelect={props.onOpen} onKey={navigationKeys(props)} />
    </Box>
  )
}

function Checkpoints(
  props: LevelProps & { jobId: string; node: RunTreeNode; onResume: (point: ResumePoint) => void },
) {
  const { rows } = useWindowSize()
  const [checkpoints, setCheckpoints] = useState<Checkpoint[] | undefined>()
  const [error, setError] = useState<string>()
  const [note, setNote] = useState<string>()
  useEffect(() => {
    props.store.listCheckpoints(props.jobId).then(
      (all) => setCheckpoints(all.filter((checkpoint) => checkpoint.runId === props.node.runId)),
      (cause: Error) => setError(cause.message),
    )
  }, [props.store, props.jobId, props.node.runId])
  useEscapeBack(props.onBack)
  if (!checkpoints) return <Loading what="checkpoints" {...(error ? { error } : {})} />
  const coordinator = props.node.parentRunId === undefined
  const resume = (checkpoint: Checkpoint) => {
    if (!coordinator) {
      setNote("Only the coordinator's checkpoints can be resumed from (its delegates resume with it).")
      return
    }
    props.onResume({
      jobId: props.jobId,
      expertKey: props.node.expertKey,
      checkpointId: checkpoint.id,
      stepNumber: checkpoint.stepNumber,
    })
  }
  const items: Array<ListItem<Checkpoint>> = checkpoints.map((checkpoint) => ({
    label: checkpointLine(checkpoint),
    value: checkpoint,
  }))
  const query = props.node.query !== undefined ? ` "${oneLine(props.node.query, 50)}"` : ""
  return (
    <Box flexDirection="column">
      <Text color="cyan">
        Checkpoints of {props.node.expertKey}
        {props.node.resumed ? " (resumed)" : ""}
        {query} · {coordinator ? "Enter: resume from here · " : ""}b: back · q: quit
      </Text>
      {items.length === 0 ? (
        <Text dimColor>This run reached no checkpoint.</Text>
      ) : (
        <SelectList items={items} height={rows - 3} onSelect={resume} onKey={navigationKeys(props)} />
      )}
      {note && <Text color="yellow">{note}</Text>}
    </Box>
  )
}

function statusMark(status: Job["status"]): string {
  switch (status) {
    case "completed":
      return "✓"
    case "stoppedByError":
      return "✗"
    case "proceeding":
    case "init":
      return "●"
    default:
      return "■"
  }
}
