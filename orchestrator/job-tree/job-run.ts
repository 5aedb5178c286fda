// A run as the job tree knows it: its run.json, or what its event log and checkpoints say when run.json is missing.
import type { Run } from "../../runtime/protocol/run.ts"

export type JobRun = Omit<Run, "protocolVersion" | "jobId" | "sandbox" | "usage"> & {
  sandbox?: Run["sandbox"]
  /** cumulative for the Expert's conversation, as in run.json; absent when nothing recorded it */
  usage?: Run["usage"]
  /** where the record came from */
  source: "run.json" | "events"
}
