// How a run's pod ended, as the Sandbox's exit: the container's exit code and reason, the Job's failure condition
// (a deadline), a stop the orchestrator asked for, and the stderr tail.
import type { V1Job } from "@kubernetes/client-node"
import { memoryBytes } from "../container/resource-limits.ts"
import type { SandboxExit, SandboxExitReason } from "../sandbox.ts"
import type { StderrTail } from "../stderr-tail.ts"
import type { Cluster } from "./cluster.ts"
import type { PodPhase } from "./pod-watch.ts"

type StopReason = "cancelled" | "timeout"

/** A pod's memory limit ("2Gi", "512Mi", bytes) in bytes, or undefined when it has none this can read. */
function quantityBytes(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined
  try {
    return memoryBytes(quantity)
  } catch {
    return undefined
  }
}

function exitReason(
  stopReason: StopReason | undefined,
  job: V1Job | undefined,
  end: PodPhase,
): SandboxExitReason {
  if (stopReason) return stopReason
  const failed = job?.status?.conditions?.find(
    (condition) => condition.type === "Failed" && condition.status === "True",
  )
  if (failed?.reason === "DeadlineExceeded") return "timeout"
  if (end.kind === "ended" && end.reason === "OOMKilled") return "oomKilled"
  return end.kind === "ended" && end.exitCode === 0 ? "completed" : "crashed"
}

export interface PodExitOptions {
  k8s: Cluster
  /** the Job's name */
  name: string
  ended: Promise<PodPhase>
  /** the log followed to its end (or given up) */
  drained: Promise<void>
  tail: StderrTail
  /** when the run started, for its duration */
  started: number
  /** the reason of a stop the orchestrator asked for, read once the pod has ended */
  stopReason: () => StopReason | undefined
}

/** Waits for the pod's end and the log's, then reads the Job for what ended it. */
export async function podExit(options: PodExitOptions): Promise<SandboxExit> {
  const { k8s, name } = options
  const end = await options.ended
  await options.drained
  const job = await k8s.batch.readNamespacedJob({ name, namespace: k8s.namespace }).catch(() => undefined)
  const exitCode = end.kind === "ended" ? end.exitCode : null
  const reason = exitReason(options.stopReason(), job, end)
  const note =
    end.kind === "ended" && exitCode !== 0 && end.reason
      ? `\n(pod: ${end.reason}${end.message ? `: ${end.message}` : ""})`
      : ""
  const memoryLimitBytes = quantityBytes(
    job?.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory,
  )
  return {
    exitCode,
    reason,
    stderrTail: `${options.tail.text()}${note}`.trim(),
    durationMs: Date.now() - options.started,
    ...(reason === "oomKilled" && memoryLimitBytes ? { memoryLimitBytes } : {}),
  }
}
