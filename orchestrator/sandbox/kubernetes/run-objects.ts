// The API objects of one run: its Secret (environment and RunSpec) and its Job, created together, owned by the Job
// so that whoever deletes the Job (we, or the TTL controller) deletes the Secret with it, and removed together.
import { PatchStrategy, setHeaderOptions, type V1Job } from "@kubernetes/client-node"
import { apiStatusCode, kubeApiError } from "./api-errors.ts"
import { type Cluster, callApi } from "./cluster.ts"
import { jobFor, K8S_LABEL, labelValue, type PodPlan, secretFor } from "./job-spec.ts"

/** Deletes a run's Job (background: its pod goes too) and Secret; gone already is fine. */
export async function removeRunObjects(k8s: Cluster, name: string): Promise<void> {
  const { namespace } = k8s
  await Promise.all([
    k8s.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" }).catch((error) => {
      if (apiStatusCode(error) !== 404)
        throw kubeApiError(error, { verb: "delete", resource: "jobs.batch", name, namespace }, k8s.server)
    }),
    k8s.core.deleteNamespacedSecret({ name, namespace }).catch((error) => {
      if (apiStatusCode(error) !== 404)
        throw kubeApiError(error, { verb: "delete", resource: "secrets", name, namespace }, k8s.server)
    }),
  ])
}

/** Removes every Job (and Secret) labelled with the run's id. */
export async function reapRunObjects(k8s: Cluster, runId: string): Promise<void> {
  const labelSelector = `${K8S_LABEL.run}=${labelValue(runId)}`
  const jobs = await callApi(k8s, { verb: "list", resource: "jobs.batch" }, () =>
    k8s.batch.listNamespacedJob({ namespace: k8s.namespace, labelSelector }),
  )
  await Promise.all(
    jobs.items.map((job) => (job.metadata?.name ? removeRunObjects(k8s, job.metadata.name) : undefined)),
  )
}

/** Makes the Secret the Job's (best effort: the Job's end removes the Secret through us as well). */
function ownSecretByJob(k8s: Cluster, name: string, uid: string): void {
  void k8s.core
    .patchNamespacedSecret(
      {
        name,
        namespace: k8s.namespace,
        body: {
          metadata: {
            ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid, blockOwnerDeletion: false }],
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    .catch(() => undefined)
}

/** Creates the run's Secret, then its Job (removing both if the Job is refused), with the extra labels on both. */
export async function createRunObjects(
  k8s: Cluster,
  plan: PodPlan,
  extraLabels: Readonly<Record<string, string>> | undefined,
): Promise<void> {
  const { name } = plan
  const secret = secretFor(plan)
  const job = jobFor(plan)
  for (const object of [secret, job]) Object.assign(object.metadata?.labels ?? {}, extraLabels)
  const { namespace } = k8s
  await callApi(k8s, { verb: "create", resource: "secrets", name }, () =>
    k8s.core.createNamespacedSecret({ namespace, body: secret }),
  )
  let created: V1Job
  try {
    created = await callApi(k8s, { verb: "create", resource: "jobs.batch", name }, () =>
      k8s.batch.createNamespacedJob({ namespace, body: job }),
    )
  } catch (error) {
    await removeRunObjects(k8s, name).catch(() => undefined)
    throw error
  }
  const uid = created.metadata?.uid
  if (uid) ownSecretByJob(k8s, name, uid)
}

/**
 * Stops a run's Job with parallelism 0: the Job controller deletes the pod, which gets SIGTERM (the runtime ends
 * with a resumable checkpoint), then SIGKILL after the pod's 5 s grace period. (Deleting the pod instead would have
 * the controller start another: a pod being deleted no longer counts as the Job's.) Refused: deleting the Job
 * takes the pod along.
 */
export async function stopRunJob(k8s: Cluster, name: string): Promise<void> {
  await k8s.batch
    .patchNamespacedJob(
      { name, namespace: k8s.namespace, body: { spec: { parallelism: 0 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )
    .catch(() => removeRunObjects(k8s, name).catch(() => undefined))
}
