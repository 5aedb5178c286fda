// A job's events in time order: each run's log read forward, runs that overlapped in time merged by timestamp.
// Memory is one open cursor per run running at that moment, whatever the length of the logs.
import type { JobStore } from "../store/job-store.ts"
import { EventFileCursor } from "./event-file-cursor.ts"
import type { LogLine } from "./log-line.ts"

export interface RunSpan {
  runId: string
  startedAt: number
  /** absent: still running, or its end was never recorded */
  finishedAt?: number
}

interface Open {
  cursor: EventFileCursor
  /** null: the cursor needs a fill; undefined: it ended */
  head: LogLine | null | undefined
}

/**
 * Runs whose time spans do not overlap are read one after the other, with no timestamps looked at; runs that
 * overlapped (parallel delegates) are merged by timestamp, each opened once the merge reaches its start.
 * Within a run the file's order is kept as it is.
 */
export class JobEventSource {
  readonly #groups: RunSpan[][]
  readonly #open: (span: RunSpan) => EventFileCursor
  #group = 0
  #pending = 0
  #active: Open[] = []

  constructor(options: { store: JobStore; jobId: string; runs: readonly RunSpan[]; signal?: AbortSignal }) {
    const { store, jobId, signal } = options
    this.#groups = groupOverlapping(options.runs)
    this.#open = (span) =>
      new EventFileCursor({
        runId: span.runId,
        file: store.paths.eventsFile(jobId, span.runId),
        storeRoot: store.paths.root,
        startedAt: span.startedAt,
        ...(signal ? { signal } : {}),
      })
  }

  /** The next line; null when `fill()` must be awaited first; undefined when every log has been read. */
  take(): LogLine | null | undefined {
    for (;;) {
      const spans = this.#groups[this.#group]
      if (!spans) return undefined
      const active = this.#active
      // The common case, one run on its own: no timestamps needed.
      if (active.length === 1 && this.#pending === spans.length) {
        const only = active[0] as Open
        if (only.head === null) return null
        if (only.head !== undefined) {
          const line = only.head
          only.head = only.cursor.take()
          return line
        }
      }
      // Strictly less: among equal timestamps the run that started first goes first (#active keeps start order).
      let min: Open | undefined
      for (const open of active) {
        if (open.head === null) return null
        if (open.head === undefined) continue
        if (!min || open.head.timestamp < (min.head as LogLine).timestamp) min = open
      }
      const next = spans[this.#pending]
      if (next && (!min || next.startedAt <= (min.head as LogLine).timestamp)) {
        this.#active.push({ cursor: this.#open(next), head: null })
        this.#pending++
        continue
      }
      if (!min) {
        this.#active = []
        this.#group++
        this.#pending = 0
        continue
      }
      const line = min.head as LogLine
      min.head = min.cursor.take()
      if (min.head === undefined) this.#active = this.#active.filter((open) => open !== min)
      return line
    }
  }

  /** Reads the next chunk of every run whose head is needed. */
  async fill(): Promise<void> {
    await Promise.all(
      this.#active
        .filter((open) => open.head === null)
        .map(async (open) => {
          await open.cursor.fill()
          open.head = open.cursor.take()
        }),
    )
    this.#active = this.#active.filter((open) => open.head !== undefined)
  }

  async close(): Promise<void> {
    await Promise.all(this.#active.map((open) => open.cursor.close()))
    this.#active = []
  }
}

/** Runs sorted by start, in groups whose spans overlap (a run with no end overlaps everything after it). */
function groupOverlapping(runs: readonly RunSpan[]): RunSpan[][] {
  const sorted = [...runs].sort((a, b) => a.startedAt - b.startedAt)
  const groups: RunSpan[][] = []
  let end = Number.NEGATIVE_INFINITY
  for (const run of sorted) {
    const runEnd = run.finishedAt ?? Number.POSITIVE_INFINITY
    const current = groups.at(-1)
    if (current && run.startedAt <= end) {
      current.push(run)
      end = Math.max(end, runEnd)
    } else {
      groups.push([run])
      end = runEnd
    }
  }
  return groups
}

/** Feeds every line of the source to `each`, in order, awaiting only when a chunk must be read. */
export async function forEachLine(source: JobEventSource, each: (line: LogLine) => void): Promise<void> {
  try {
    for (;;) {
      const line = source.take()
      if (line === undefined) return
      if (line === null) await source.fill()
      else each(line)
    }
  } finally {
    await source.close()
  }
}
