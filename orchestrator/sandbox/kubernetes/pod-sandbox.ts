// A run's pod as a Sandbox handle: its events from the log followed through the API, its end read from the pod and
// the Job, a stop through the Job controller, and the Job and Secret removed once it is over.
import type { Sandbox } from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import type { Cluster } from "./cluster.ts"
import { IN_POD, type PodPlan } from "./job-spec.ts"
import { type ContainerState, followLog } from "./log-follow.ts"
import { podExit } from "./pod-exit.ts"
import { watchUntilStarted } from "./pod-start.ts"
import type { PodWatch } from "./pod-watch.ts"
import { removeRunObjects, stopRunJob } from "./run-objects.ts"

export interface PodSandboxOptions {
  onStderr: ((runId: string, chunk: Buffer) => void) | undefined
  /** how long the pod may stay unable to start before the run fails */
  startPatienceMs: number
}

interface PodOutput {
  stdout: AsyncGenerator<Uint8Array>
  tail: StderrTail
  /** resolved once the log is followed to its end, or given up on */
  drained: Promise<void>
  markDrained(): void
  /** stops following the log */
  abort: AbortController
}

/** The pod's log, split: the API merges stdout and stderr, and an event line is a JSON object (`{"`). */
function podOutput(
  k8s: Cluster,
  podName: string,
  watch: PodWatch,
  onStderr: (line: Buffer) => void,
): PodOutput {
  const tail = new StderrTail()
  const abort = new AbortController()
  let markDrained: () => void = () => {}
  const drained = new Promise<void>((resolve) => {
    markDrained = resolve
  })
  const state = async (): Promise<ContainerState> => {
    const phase = watch.phase()
    return phase.kind === "ended" ? "ended" : phase.kind === "running" ? "running" : "waiting"
  }
  async function* stdout(): AsyncGenerator<Uint8Array> {
    try {
      for await (const line of followLog({
        kubeConfig: k8s.kubeConfig,
        target: { namespace: k8s.namespace, pod: podName, container: IN_POD.container },
        state,
        signal: abort.signal,
      })) {
        if (line[0] === 0x7b && line[1] === 0x22) yield line
        else {
          tail.push(line)
          onStderr(line)
        }
      }
    } finally {
      markDrained()
    }
  }
  return { stdout: stdout(), tail, drained, markDrained: () => markDrained(), abort }
}

/** Waits for the run's pod to run, then gives its Sandbox handle. */
export async function startPodSandbox(
  k8s: Cluster,
  plan: PodPlan,
  options: PodSandboxOptions,
): Promise<Sandbox> {
  const started = Date.now()
  const { name } = plan
  const watch = await watchUntilStarted(k8s, plan, options.startPatienceMs)
  const podName = watch.current?.metadata?.name ?? ""
  const output = podOutput(k8s, podName, watch, (line) => options.onStderr?.(plan.labels.runId, line))
  const ended = watch.until((phase) => phase.kind === "ended")
  let stopReason: "cancelled" | "timeout" | undefined
  let removed: Promise<void> | undefined
  const cleanUp = () => {
    removed ??= (async () => {
      watch.close()
      await removeRunObjects(k8s, name).catch(() => undefined)
    })()
    return removed
  }
  const exit = podExit({
    k8s,
    name,
    ended,
    drained: output.drained,
    tail: output.tail,
    started,
    stopReason: () => stopReason,
  }).then((result) => {
    void cleanUp()
    return result
  })

  // The grace period is the pod's own (5 s): graceMs is not Kubernetes' to vary per stop.
  const stop = async ({
    reason = "cancelled",
  }: {
    graceMs?: number
    reason?: "cancelled" | "timeout"
  } = {}) => {
    if (watch.phase().kind === "ended") return
    stopReason ??= reason
    await stopRunJob(k8s, name)
    await ended
  }
  return {
    id: `${k8s.namespace}/${podName}`,
    backend: "kubernetes",
    image: plan.image,
    stdout: output.stdout,
    wait: () => exit,
    stop,
    async [Symbol.asyncDispose]() {
      await stop({ graceMs: 1_000 })
      output.abort.abort()
      output.markDrained()
      await cleanUp()
    },
  }
}
