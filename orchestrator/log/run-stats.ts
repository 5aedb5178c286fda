// What the tree shows of a run that its record does not hold: the query it was given, its steps, its events.
// Read in one streaming pass over the logs, looking only at each line's sniffed type.
import { TERMINAL_EVENT_TYPES } from "../../runtime/protocol/events/index.ts"
import type { RunStats } from "../job-tree/run-tree.ts"
import type { JobStore } from "../store/job-store.ts"
import { forEachLine, JobEventSource } from "./job-event-source.ts"
import type { LogLine } from "./log-line.ts"

const STEP_ENDS: ReadonlySet<string> = new Set(["continueToNextStep", ...TERMINAL_EVENT_TYPES])

/** Collects the stats of any number of runs from their lines, in whatever order the lines come. */
export class RunStatsCollector {
  readonly stats = new Map<string, RunStats>()

  add(line: LogLine): void {
    let stats = this.stats.get(line.runId)
    if (!stats) {
      stats = { events: 0, steps: 0 }
      this.stats.set(line.runId, stats)
    }
    stats.events++
    const type = line.type
    if (type === undefined) return
    if (STEP_ENDS.has(type)) stats.steps++
    else if (type === "initializeRuntime" && stats.query === undefined) {
      const query = (line.value() as { query?: unknown }).query
      if (typeof query === "string") stats.query = query
    }
  }
}

/** Scans each run's log on its own, several at a time: the files are independent, and reading them is mostly waiting. */
export async function scanRunStats(
  store: JobStore,
  jobId: string,
  runIds: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, RunStats>> {
  const collector = new RunStatsCollector()
  let next = 0
  const worker = async () => {
    while (next < runIds.length) {
      const runId = runIds[next++] as string
      const source = new JobEventSource({
        store,
        jobId,
        runs: [{ runId, startedAt: 0 }],
        ...(signal ? { signal } : {}),
      })
      await forEachLine(source, (line) => collector.add(line))
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, runIds.length) }, worker))
  return collector.stats
}
