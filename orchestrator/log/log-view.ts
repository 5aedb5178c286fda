// What a view of the log is given, whichever its format (text or JSON).
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { JobRun } from "../job-tree/job-run.ts"
import type { RunTreeNode } from "../job-tree/run-tree.ts"
import type { Entry } from "./event-selection.ts"
import type { LoadedJob } from "./job-records.ts"
import type { LogQuery } from "./log-query.ts"
import type { LogSummary } from "./log-summary.ts"

export interface ViewStart {
  loaded: LoadedJob
  /** no job was named: this is the latest one */
  isLatest: boolean
  storagePath: string
  tree?: RunTreeNode[]
  run?: JobRun
  checkpoint?: Checkpoint
  /** false for --tree and --summary */
  showEvents: boolean
  query: LogQuery
}

export interface ViewEnd {
  summary: LogSummary
  /** entries matched before pagination (a folded stream is one entry) */
  matchedEntries: number
  /** matched entries on the page */
  shownMatches: number
}

export interface LogView {
  begin(start: ViewStart): void
  entry(entry: Entry): void
  end(result: ViewEnd | undefined): void
}
