// What one run is on Kubernetes: a Secret holding its environment and RunSpec, and a batch/v1 Job whose one pod
// runs the runtime under the restricted pod security profile over the job's workspace claim.
import { createHash } from "node:crypto"
import path from "node:path"
import type { V1Job, V1Secret } from "@kubernetes/client-node"
import type { ResourceLimits } from "../container/resource-limits.ts"
import type { ProtectedPath } from "../sandbox.ts"

/** Where things are inside the pod (the same paths as in a docker sandbox). */
export const IN_POD = {
  workspace: "/workspace",
  specDir: "/run/perstack",
  specFile: "/run/perstack/run-spec.json",
  home: "/home/perstack",
  path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  container: "runtime",
} as const

/** The labels on every Job and pod the backend creates; `job-name` is added by the Job controller. */
export const K8S_LABEL = {
  name: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
  managed: "ai.perstack.managed",
  job: "ai.perstack.job",
  run: "ai.perstack.run",
  parentRun: "ai.perstack.parent-run",
} as const

export const SANDBOX_APP = "perstack-sandbox"

export interface PodPlan {
  /** the Job's and the Secret's name (see objectName) */
  name: string
  image: string
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never"
  /** the sandbox's environment: stored in the Secret, never in the Job's spec */
  env: Readonly<Record<string, string>>
  /** the RunSpec as the runtime reads it (already holding in-pod paths) */
  runSpec: string
  command: readonly string[]
  labels: { jobId: string; runId: string; parentRunId?: string }
  version: string
  expertKey: string
  claim: string
  /** the workspace's path inside the claim ("" for its root) */
  subPath: string
  limits: Pick<ResourceLimits, "cpus" | "memoryBytes">
  /** the run's wall-clock limit, ms: the Job's activeDeadlineSeconds */
  timeoutMs?: number
  uid: number
  gid: number
  /** kept after the Job ends, in case the orchestrator could not delete it (it reads the end long before) */
  ttlSecondsAfterFinished: number
  /**
   * the run's LLM requests go through the orchestrator's gateway: the runtime asks it for the acknowledgement of
   * each stored tool call (a pod has no stdin from the orchestrator)
   */
  ackOverHttp?: boolean
  /** podFailurePolicy needs Kubernetes 1.26+; older servers drop it silently */
  podFailurePolicy: boolean
  serviceAccountName?: string
  /** workspace files mounted read-only (from the claim), or masked with an empty file, over the workspace */
  protectedPaths?: readonly ProtectedPath[]
}

/** The Secret's key holding the empty file that masks env files (not an environment variable name: no clash). */
const MASK_KEY = "masked-empty"

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** A DNS-1123 name for one start of a run: `perstack-<runId>-<suffix>`, hashed when the id does not fit. */
export function objectName(runId: string, suffix: string): string {
  const plain = `perstack-${runId}-${suffix}`
  // 63: the `job-name` label the controller puts on the pod holds the Job's name and may not be longer.
  if (plain.length <= 63 && DNS_LABEL.test(plain)) return plain
  const slug = runId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 30)
  const hash = createHash("sha256").update(runId).digest("hex").slice(0, 10)
  return `perstack-${slug ? `${slug}-` : ""}${hash}-${suffix}`.replace(/--+/g, "-")
}

/** A label value (63 characters of [-A-Za-z0-9_.]), hashed when the id is not one. */
export function labelValue(value: string): string {
  if (value.length <= 63 && LABEL_VALUE.test(value)) return value
  return `h-${createHash("sha256").update(value).digest("hex").slice(0, 40)}`
}

/** The environment variable names a Secret can hold as keys (all a POSIX shell accepts do). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Set by the pod itself (the host's values mean nothing inside). */
const POD_OWN_ENV = new Set([
  "PATH",
  "HOME",
  "TMPDIR",
  "PERSTACK_JOB_ID",
  "PERSTACK_RUN_ID",
  "PERSTACK_ACK",
  "PERSTACK_EVENTS",
  "PERSTACK_SANDBOX",
])

export function runLabels(plan: Pick<PodPlan, "labels" | "version">): Record<string, string> {
  return {
    [K8S_LABEL.name]: SANDBOX_APP,
    [K8S_LABEL.managedBy]: "perstack",
    [K8S_LABEL.managed]: labelValue(plan.version),
    [K8S_LABEL.job]: labelValue(plan.labels.jobId),
    [K8S_LABEL.run]: labelValue(plan.labels.runId),
    ...(plan.labels.parentRunId ? { [K8S_LABEL.parentRun]: labelValue(plan.labels.parentRunId) } : {}),
  }
}

/** The run's Secret: every environment variable, and the RunSpec as a file. */
export function secretFor(plan: PodPlan): V1Secret {
  const bad = Object.keys(plan.env).filter((key) => !ENV_NAME.test(key))
  if (bad.length > 0) throw new Error(`environment variable names a pod cannot hold: ${bad.join(", ")}`)
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: plan.name, labels: runLabels(plan) },
    type: "Opaque",
    stringData: {
      ...plan.env,
      "run-spec.json": plan.runSpec,
      ...(masked(plan).length > 0 ? { [MASK_KEY]: "" } : {}),
    },
  }
}

const REQUEST = { cpuMillis: 250, memoryBytes: 256 * 1024 ** 2 }

function quantityOfBytes(bytes: number): string {
  const mib = bytes / 1024 ** 2
  return Number.isInteger(mib) ? `${mib}Mi` : String(bytes)
}

function masked(plan: PodPlan): ProtectedPath[] {
  return (plan.protectedPaths ?? []).filter((entry) => entry.exists && entry.mode === "mask")
}

/** What the host reads to decide what runs: read-only from the claim, env files (keys) masked. */
function protectedMounts(plan: PodPlan) {
  return (plan.protectedPaths ?? [])
    .filter((entry) => entry.exists)
    .map((entry) => ({
      mountPath: path.posix.join(IN_POD.workspace, entry.path),
      readOnly: true,
      ...(entry.mode === "mask"
        ? { name: "masked", subPath: MASK_KEY }
        : { name: "workspace", subPath: path.posix.join(plan.subPath, entry.path) }),
    }))
}

export function jobFor(plan: PodPlan): V1Job {
  const labels = runLabels(plan)
  const cpuMillis = Math.max(1, Math.round(plan.limits.cpus * 1000))
  const limits = { cpu: `${cpuMillis}m`, memory: quantityOfBytes(plan.limits.memoryBytes) }
  // Requests what an idle agent uses, not its ceiling: a 2-CPU limit as a request would leave a small node room
  // for one run, and a delegate pending behind its own parent.
  const requests = {
    cpu: `${Math.min(cpuMillis, REQUEST.cpuMillis)}m`,
    memory: quantityOfBytes(Math.min(plan.limits.memoryBytes, REQUEST.memoryBytes)),
  }
  const fromSecret = Object.keys(plan.env)
    .filter((key) => !POD_OWN_ENV.has(key))
    .sort()
    .map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: plan.name, key } } }))
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: plan.name,
      labels,
      annotations: { "ai.perstack/expert": plan.expertKey, "ai.perstack/run-id": plan.labels.runId },
    },
    spec: {
      // Retries belong to the orchestrator, which resumes the run from its last checkpoint.
      backoffLimit: 0,
      ttlSecondsAfterFinished: plan.ttlSecondsAfterFinished,
      ...(plan.timeoutMs !== undefined
        ? { activeDeadlineSeconds: Math.max(1, Math.ceil(plan.timeoutMs / 1000)) }
        : {}),
      ...(plan.podFailurePolicy
        ? {
            podFailurePolicy: {
              rules: [
                // An evicted or preempted pod fails the Job instead of being replaced behind the orchestrator's back.
                { action: "FailJob", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
                { action: "FailJob", onExitCodes: { operator: "NotIn", values: [0] } },
              ],
            },
          }
        : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          ...(plan.serviceAccountName ? { serviceAccountName: plan.serviceAccountName } : {}),
          enableServiceLinks: false,
          // The pause container is PID 1: it reaps whatever the Expert's commands leave behind.
          shareProcessNamespace: true,
          terminationGracePeriodSeconds: 5,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: plan.uid,
            runAsGroup: plan.gid,
            fsGroup: plan.gid,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: IN_POD.container,
              image: plan.image,
              ...(plan.imagePullPolicy ? { imagePullPolicy: plan.imagePullPolicy } : {}),
              command: [...plan.command],
              workingDir: IN_POD.workspace,
              env: [
                ...fromSecret,
                { name: "PATH", value: IN_POD.path },
                { name: "HOME", value: IN_POD.home },
                { name: "TMPDIR", value: "/tmp" },
                { name: "PERSTACK_JOB_ID", value: plan.labels.jobId },
                { name: "PERSTACK_RUN_ID", value: plan.labels.runId },
                // Events in ASCII: the node's log pipeline cuts long lines in pieces that must not split a character.
                { name: "PERSTACK_EVENTS", value: "ascii" },
                // The marker every sandbox carries (the seeds' images set it): code inside can tell where it runs.
                { name: "PERSTACK_SANDBOX", value: "1" },
                ...(plan.ackOverHttp ? [{ name: "PERSTACK_ACK", value: "http" }] : []),
              ],
              resources: { limits, requests },
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                {
                  name: "workspace",
                  mountPath: IN_POD.workspace,
                  ...(plan.subPath ? { subPath: plan.subPath } : {}),
                },
                ...protectedMounts(plan),
                // The job store is the orchestrator's alone: the sandbox sees an empty, read-only folder there.
                { name: "store-mask", mountPath: `${IN_POD.workspace}/perstack`, readOnly: true },
                { name: "run-spec", mountPath: IN_POD.specDir, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
                { name: "home", mountPath: IN_POD.home },
              ],
            },
          ],
          volumes: [
            { name: "workspace", persistentVolumeClaim: { claimName: plan.claim } },
            { name: "store-mask", emptyDir: { sizeLimit: "1Mi" } },
            {
              name: "run-spec",
              secret: {
                secretName: plan.name,
                items: [{ key: "run-spec.json", path: "run-spec.json", mode: 0o444 }],
              },
            },
            ...(masked(plan).length > 0
              ? [
                  {
                    name: "masked",
                    secret: {
                      secretName: plan.name,
                      items: [{ key: MASK_KEY, path: MASK_KEY, mode: 0o444 }],
                    },
                  },
                ]
              : []),
            { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
            { name: "home", emptyDir: { sizeLimit: "256Mi" } },
          ],
        },
      },
    },
  }
}
