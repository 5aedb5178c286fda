// The job → run → checkpoint tree, rebuilt from the event logs alone (no run.json, no checkpoint files).
import { readdir } from "node:fs/promises"
import type { Status } from "../../runtime/protocol/status.ts"
import type { JobStore } from "./job-store.ts"

export interface RunNode {
  runId: string
  expertKey: string
  parentRunId?: string
  parentToolCallId?: string
  resumedFrom?: string
  /** from the run's terminal event; "proceeding" when it has none (still running, or the log was cut) */
  status: Status
  /** the checkpoints of its finished steps, in order */
  checkpointIds: string[]
  startedAt: number
  finishedAt?: number
}

const TERMINAL = new Set([
  "completeRun",
  "stopRunByInteractiveTool",
  "stopRunByDelegate",
  "stopRunByExceededMaxSteps",
  "stopRunByError",
])

/** Reads every run's events.ndjson of the job (streaming: flat memory however long the logs). */
export async function rebuildRunsFromEvents(store: JobStore, jobId: string): Promise<RunNode[]> {
  const runIds = await readdir(store.paths.runs(jobId)).catch(() => [] as string[])
  const nodes: RunNode[] = []
  for (const runId of runIds) {
    let node: RunNode | undefined
    for await (const event of store.readEvents(jobId, runId)) {
      if (event.type === "sandboxStarted") {
        node = {
          runId,
          expertKey: event.expertKey ?? "(unknown)",
          ...(event.parentRunId ? { parentRunId: event.parentRunId } : {}),
          ...(event.parentToolCallId ? { parentToolCallId: event.parentToolCallId } : {}),
          ...(event.resumedFrom ? { resumedFrom: event.resumedFrom } : {}),
          status: "proceeding",
          checkpointIds: [],
          startedAt: event.timestamp,
        }
        continue
      }
      if (!node) continue
      if (event.type === "continueToNextStep") node.checkpointIds.push(event.checkpoint.id)
      if (TERMINAL.has(event.type) && "checkpoint" in event) {
        node.status = event.checkpoint.status
        node.checkpointIds.push(event.checkpoint.id)
      }
      if (event.type === "sandboxExited") node.finishedAt = event.timestamp
    }
    if (node) nodes.push(node)
  }
  return nodes.sort((a, b) => a.startedAt - b.startedAt || a.runId.localeCompare(b.runId))
}
