// Waiting for a run's pod to start: running (or already ended), or stuck long enough on the same kind of trouble
// that the run fails, with a message that says what to change.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import type { Cluster } from "./cluster.ts"
import { IN_POD, type PodPlan } from "./job-spec.ts"
import { type PodPhase, PodWatch } from "./pod-watch.ts"
import { removeRunObjects } from "./run-objects.ts"

function describeStuck(phase: Extract<PodPhase, { kind: "stuck" }>, image: string): string {
  if (
    phase.reason === "ErrImagePull" ||
    phase.reason === "ImagePullBackOff" ||
    phase.reason === "ErrImageNeverPull"
  ) {
    return `the sandbox image ${image} cannot be pulled by the cluster's node (${phase.reason}${phase.message ? `: ${phase.message}` : ""}): push it to a registry the cluster reaches, or set PERSTACK_SANDBOX_IMAGE / [experts."<key>".sandbox] image`
  }
  if (phase.reason === "Unschedulable") {
    return `the sandbox pod cannot be scheduled (${phase.message || "Unschedulable"}): lower the Expert's [experts."<key>".sandbox] cpus / memory, or give the cluster room (PERSTACK_K8S_START_PATIENCE sets how long to wait, in ms)`
  }
  return `the sandbox pod cannot start (${phase.reason}${phase.message ? `: ${phase.message}` : ""})`
}

/** Reasons no retry of the kubelet's can mend. */
const HOPELESS = new Set(["InvalidImageName", "ErrImageNeverPull"])

/**
 * The pod running (or already ended), or stuck for `patienceMs` on the same kind of trouble: the kubelet retries
 * image pulls and container creation (a busy engine fails one now and then), so only a lasting one fails the run.
 */
function untilStarted(watch: PodWatch, patienceMs: number): Promise<PodPhase> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    void watch
      .until((phase) => {
        if (phase.kind === "running" || phase.kind === "ended") return true
        if (phase.kind !== "stuck") {
          clearTimeout(timer)
          timer = undefined
          return false
        }
        if (HOPELESS.has(phase.reason) || patienceMs <= 0) return true
        timer ??= setTimeout(() => {
          const now = watch.phase()
          if (now.kind === "stuck") resolve(now)
        }, patienceMs)
        return false
      })
      .then((phase) => {
        clearTimeout(timer)
        resolve(phase)
      })
  })
}

/** A watch on the run's pod, once it has started; a pod that cannot start is removed with its Job, and named. */
export async function watchUntilStarted(k8s: Cluster, plan: PodPlan, patienceMs: number): Promise<PodWatch> {
  const watch = new PodWatch({
    kubeConfig: k8s.kubeConfig,
    core: k8s.core,
    namespace: k8s.namespace,
    jobName: plan.name,
    container: IN_POD.container,
  })
  watch.start()
  const first = await untilStarted(watch, patienceMs)
  if (first.kind === "stuck") {
    watch.close()
    await removeRunObjects(k8s, plan.name).catch(() => undefined)
    throw new PerstackError("sandbox.startFailed", describeStuck(first, plan.image))
  }
  return watch
}
