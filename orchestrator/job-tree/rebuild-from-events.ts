// The job → run → checkpoint tree rebuilt from the event logs alone (no run.json, no checkpoint files), and the run
// records put back together from it for runs whose run.json is missing (a crashed orchestrator, an old store).
import { readdir, stat } from "node:fs/promises"
import { isTerminalEvent } from "../../runtime/protocol/events/index.ts"
import type { Status } from "../../runtime/protocol/status.ts"
import type { JobStore } from "../store/job-store.ts"
import type { JobRun } from "./job-run.ts"

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
      if (isTerminalEvent(event)) {
        node.status = event.checkpoint.status
        node.checkpointIds.push(event.checkpoint.id)
      }
      if (event.type === "sandboxExited") node.finishedAt = event.timestamp
    }
    if (node) nodes.push(node)
  }
  return nodes.sort((a, b) => a.startedAt - b.startedAt || a.runId.localeCompare(b.runId))
}

/** The records of runs `runIds` (those without a readable run.json), from their event logs and last checkpoints. */
export async function rebuildJobRuns(
  store: JobStore,
  jobId: string,
  runIds: readonly string[],
): Promise<JobRun[]> {
  // rebuildRunsFromEvents gives up on a log with a corrupt line; then the runs are still listed, unknown.
  const nodes = await rebuildRunsFromEvents(store, jobId).catch(() => [])
  const byId = new Map(nodes.map((node) => [node.runId, node]))
  return Promise.all(
    runIds.map(async (id): Promise<JobRun> => {
      const node = byId.get(id)
      if (!node) {
        const info = await stat(store.paths.run(jobId, id)).catch(() => undefined)
        return {
          id,
          expertKey: "(unknown)",
          status: "proceeding",
          startedAt: info?.mtimeMs ?? 0,
          source: "events",
        }
      }
      const lastCheckpointId = node.checkpointIds.at(-1)
      const checkpoint = lastCheckpointId
        ? await store.readCheckpointState(jobId, lastCheckpointId).catch(() => undefined)
        : undefined
      return {
        id,
        expertKey: node.expertKey,
        ...(node.parentRunId ? { parentRunId: node.parentRunId } : {}),
        ...(node.parentToolCallId ? { parentToolCallId: node.parentToolCallId } : {}),
        ...(node.resumedFrom ? { resumedFrom: node.resumedFrom } : {}),
        status: node.status,
        ...(checkpoint ? { usage: checkpoint.usage } : {}),
        ...(lastCheckpointId ? { lastCheckpointId } : {}),
        ...(checkpoint?.error ? { error: checkpoint.error } : {}),
        startedAt: node.startedAt,
        ...(node.finishedAt !== undefined ? { finishedAt: node.finishedAt } : {}),
        source: "events",
      }
    }),
  )
}
