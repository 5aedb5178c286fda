// The pod of one run's Job, kept current by a watch (listed first, re-watched from the list when the server ends
// the watch or the connection drops): the backend asks it whether the container has started or ended.
import {
  type CoreV1Api,
  type KubeConfig,
  type V1ContainerStatus,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node"

/** Container waiting reasons that will not resolve by waiting: the run fails, naming them. */
const STUCK = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
])

export type PodPhase =
  | { kind: "none" }
  | { kind: "waiting"; reason?: string }
  | { kind: "stuck"; reason: string; message: string }
  | { kind: "running" }
  | { kind: "ended"; exitCode: number | null; reason?: string; message?: string }

function containerOf(pod: V1Pod, container: string): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((status) => status.name === container)
}

export function podPhase(pod: V1Pod | undefined, container: string, deleted: boolean): PodPhase {
  if (!pod) return deleted ? { kind: "ended", exitCode: null, reason: "PodDeleted" } : { kind: "none" }
  const status = containerOf(pod, container)
  const terminated = status?.state?.terminated
  if (terminated) {
    return {
      kind: "ended",
      exitCode: terminated.exitCode,
      ...(terminated.reason ? { reason: terminated.reason } : {}),
      ...(terminated.message ? { message: terminated.message } : {}),
    }
  }
  const phase = pod.status?.phase
  if (phase === "Succeeded" || phase === "Failed") {
    return {
      kind: "ended",
      exitCode: null,
      ...(pod.status?.reason ? { reason: pod.status.reason } : {}),
      ...(pod.status?.message ? { message: pod.status.message } : {}),
    }
  }
  if (deleted) return { kind: "ended", exitCode: null, reason: "PodDeleted" }
  if (status?.state?.running) return { kind: "running" }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled")
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    return { kind: "stuck", reason: "Unschedulable", message: scheduled.message ?? "" }
  }
  const waiting = status?.state?.waiting
  if (waiting?.reason && STUCK.has(waiting.reason)) {
    return { kind: "stuck", reason: waiting.reason, message: waiting.message ?? "" }
  }
  return { kind: "waiting", ...(waiting?.reason ? { reason: waiting.reason } : {}) }
}

export interface PodWatchOptions {
  kubeConfig: KubeConfig
  core: CoreV1Api
  namespace: string
  /** the Job's name: its pods carry `job-name=<name>` */
  jobName: string
  container: string
  retryMs?: number
}

export class PodWatch {
  private pod: V1Pod | undefined
  private deleted = false
  private closed = false
  private abort: AbortController | undefined
  private readonly listeners = new Set<() => void>()
  /** the last error of the watch (shown if the run cannot start) */
  lastError: unknown

  private readonly options: PodWatchOptions

  constructor(options: PodWatchOptions) {
    this.options = options
  }

  get current(): V1Pod | undefined {
    return this.pod
  }

  phase(): PodPhase {
    return podPhase(this.pod, this.options.container, this.deleted)
  }

  start(): void {
    void this.loop()
  }

  /** Resolves with the first phase that `done` accepts. */
  until(done: (phase: PodPhase) => boolean): Promise<PodPhase> {
    return new Promise((resolve) => {
      const check = () => {
        const phase = this.phase()
        if (done(phase) || this.closed) {
          this.listeners.delete(check)
          resolve(phase)
        }
      }
      this.listeners.add(check)
      check()
    })
  }

  close(): void {
    this.closed = true
    this.abort?.abort()
    this.notify()
  }

  private notify() {
    for (const listener of [...this.listeners]) listener()
  }

  private update(pod: V1Pod | undefined, deleted = false) {
    // Only the first pod: with backoffLimit 0 and parallelism 1 the Job never makes a second one.
    if (pod && this.pod && pod.metadata?.uid !== this.pod.metadata?.uid) return
    this.pod = pod ?? this.pod
    if (deleted) this.deleted = true
    this.notify()
  }

  private async loop() {
    const { core, namespace, jobName } = this.options
    const labelSelector = `job-name=${jobName}`
    while (!this.closed) {
      try {
        const list = await core.listNamespacedPod({ namespace, labelSelector })
        const [pod] = list.items
        if (pod) this.update(pod)
        else if (this.pod) this.update(undefined, true)
        const ended = new Promise<unknown>((resolve) => {
          new Watch(this.options.kubeConfig)
            .watch(
              `/api/v1/namespaces/${namespace}/pods`,
              { labelSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: false },
              (type, object: V1Pod) => {
                if (type === "ADDED" || type === "MODIFIED") this.update(object)
                else if (type === "DELETED") this.update(object, true)
              },
              resolve,
            )
            .then((abort) => {
              this.abort = abort
              if (this.closed) abort.abort()
            }, resolve)
        })
        const error = await ended
        if (error) this.lastError = error
      } catch (error) {
        this.lastError = error
      }
      if (this.closed) return
      await new Promise((resolve) => setTimeout(resolve, this.options.retryMs ?? 200))
    }
  }
}
