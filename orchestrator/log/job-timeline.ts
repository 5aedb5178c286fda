// What the HTML page of a job shows, read from the store: the job, its delegation tree (job-tree/), one timeline row
// per run segment in tree order (with the waits for delegates, which span segments), and every event's detail.
// Each run's log is streamed once; what is kept is the rows and each event's JSON, capped.

import { buildRunTree, type RunTreeNode } from "../job-tree/run-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { clockTime } from "../text/text-preview.ts"
import { forEachLine, JobEventSource } from "./job-event-source.ts"
import type { LoadedJob } from "./job-records.ts"
import { resumeStartUsage } from "./load-run-tree.ts"
import { isCorrupt } from "./log-line.ts"
import { RunStatsCollector } from "./run-stats.ts"
import { type TimelineItem, TimelineRow } from "./timeline-row.ts"

/** An event's detail on the page is cut here: a step's tool results can be megabytes. */
const DETAIL_CHARS = 20_000
/** All details together: past it, each is cut to its start, so a job of a million events still makes a page. */
const DETAILS_CHARS = 32 * 1024 * 1024
const DETAIL_MIN_CHARS = 500

export interface DetailLimits {
  /** one event's detail (default 20,000 characters) */
  each?: number
  /** all of them (default 32 Mi characters); past it each gets its first 500 */
  total?: number
}

export interface EventDetail {
  title: string
  json: string
}

export interface TimelineRun {
  node: RunTreeNode
  /** in the delegation tree: 0 for the coordinator's segments */
  depth: number
  items: TimelineItem[]
  deltas: number
}

export interface JobTimeline {
  loaded: LoadedJob
  tree: RunTreeNode[]
  runs: TimelineRun[]
  events: EventDetail[]
  /** the span the timeline covers */
  start: number
  end: number
}

export async function loadJobTimeline(
  store: JobStore,
  loaded: LoadedJob,
  options: { signal?: AbortSignal; limits?: DetailLimits } = {},
): Promise<JobTimeline> {
  const { signal } = options
  const jobId = loaded.job.id
  const each = options.limits?.each ?? DETAIL_CHARS
  let left = options.limits?.total ?? DETAILS_CHARS
  const stats = new RunStatsCollector()
  const events: EventDetail[] = []
  const rows = new Map<string, TimelineRow>()
  for (const run of loaded.runs) {
    const row = new TimelineRow()
    rows.set(run.id, row)
    const source = new JobEventSource({
      store,
      jobId,
      runs: [{ runId: run.id, startedAt: run.startedAt }],
      ...(signal ? { signal } : {}),
    })
    await forEachLine(source, (line) => {
      stats.add(line)
      const entry = line.event()
      const index = events.length
      if (!row.add(entry, line.timestamp, index)) return
      const json = isCorrupt(entry)
        ? `${entry.problem}\n\n${entry.sample}`
        : JSON.stringify(line.stored(entry), null, 2)
      events.push({
        title: `${clockTime(line.timestamp)} · ${run.expertKey} · ${isCorrupt(entry) ? "(unreadable line)" : entry.type}`,
        json: cut(json, Math.max(Math.min(each, left), Math.min(each, DETAIL_MIN_CHARS))),
      })
      left = Math.max(0, left - Math.min(json.length, each))
    })
    row.end(run.finishedAt ?? run.startedAt)
  }
  const tree = buildRunTree(loaded.runs, stats.stats, await resumeStartUsage(store, jobId, loaded.runs))
  // A loop, not Math.min(...times): a long job has more items than a call takes arguments.
  let start = Number.POSITIVE_INFINITY
  let end = loaded.job.finishedAt ?? 0
  const see = (time: number | undefined) => {
    if (time === undefined || time <= 0) return
    if (time < start) start = time
    if (time > end) end = time
  }
  see(loaded.job.startedAt)
  for (const run of loaded.runs) {
    see(run.startedAt)
    see(run.finishedAt)
  }
  for (const row of rows.values())
    for (const item of row.items) {
      see(item.start)
      see(item.end)
    }
  if (start === Number.POSITIVE_INFINITY) start = end
  addWaits(loaded, rows, end)
  const runs: TimelineRun[] = []
  const visit = (nodes: readonly RunTreeNode[], depth: number) => {
    for (const node of nodes) {
      const row = rows.get(node.runId)
      runs.push({ node, depth, items: row?.items ?? [], deltas: row?.deltas ?? 0 })
      visit(node.children, depth + 1)
    }
  }
  visit(tree, 0)
  return { loaded, tree, runs, events, start, end }
}

/** A segment that stopped for its delegates waits until the segment resuming it starts (or to the job's end). */
function addWaits(loaded: LoadedJob, rows: ReadonlyMap<string, TimelineRow>, end: number): void {
  for (const run of loaded.runs) {
    const row = rows.get(run.id)
    if (!row?.waitFrom) continue
    const next = loaded.runs.find(
      (other) => run.lastCheckpointId && other.resumedFrom === run.lastCheckpointId,
    )
    const until = next?.startedAt ?? end
    row.items.push({
      kind: "wait",
      label: `waits for ${row.waitFrom.delegates.join(", ")}${next ? "" : " (not resumed)"}`,
      start: row.waitFrom.at,
      end: Math.max(row.waitFrom.at, until),
      event: row.waitFrom.event,
    })
  }
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}\n… ${text.length - max} more characters (perstack log --json has them all)`
}
