// The `kubernetes` backend: each run is a batch/v1 Job of one pod running the runtime over the job's workspace
// claim. The backend finds the pod by its `job-name` label, waits until it runs, follows its log through the API
// into the same event intake as the other backends, reads the end from the pod and the Job, and deletes the Job
// (with background propagation: without it the pod is left behind) and its Secret.
import { randomBytes } from "node:crypto"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { DEFAULT_LIMITS, type ResourceLimits, resolveLimits } from "../container/resource-limits.ts"
import { DEFAULT_SANDBOX_IMAGE, runtimeCommand } from "../container/sandbox-image.ts"
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "../sandbox.ts"
import { type Cluster, type ClusterOptions, clusterConnector } from "./cluster.ts"
import { IN_POD, objectName, type PodPlan } from "./job-spec.ts"
import { podLlmBaseUrl } from "./pod-llm-endpoint.ts"
import { startPodSandbox } from "./pod-sandbox.ts"
import { createRunObjects, reapRunObjects } from "./run-objects.ts"
import { claimSubPath, type WorkspaceClaim } from "./workspace-claim.ts"

export interface KubernetesBackendOptions extends ClusterOptions {
  /** the PersistentVolumeClaim holding the workspace (default PERSTACK_K8S_WORKSPACE_CLAIM); required */
  workspaceClaim?: string
  /**
   * where that claim is mounted on the orchestrator's side (default PERSTACK_K8S_CLAIM_MOUNT, else the
   * workspace itself): each run mounts the workspace's sub-path of the claim at /workspace
   */
  claimMount?: string
  /** default PERSTACK_SANDBOX_IMAGE, else perstack/sandbox:<version>; an Expert's `sandbox.image` wins */
  image?: string
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never"
  /** "uid:gid" the pods run as (default PERSTACK_K8S_RUN_AS, else 1000:1000); never root */
  runAs?: string
  /** where sandboxes reach this orchestrator's LLM gateway (default PERSTACK_GATEWAY_HOST) */
  gatewayHost?: string
  limits?: Partial<ResourceLimits>
  /** default 600: the TTL controller removes a finished Job the orchestrator could not */
  ttlSecondsAfterFinished?: number
  /** the sandbox pods' service account (default: the namespace's default; its token is never mounted) */
  serviceAccountName?: string
  /** extra labels on every Job (tests label their session) */
  labels?: Readonly<Record<string, string>>
  onStderr?: (runId: string, chunk: Buffer) => void
  /**
   * how long a pod may stay unable to start (unschedulable, image pull, container creation) before its run fails
   * (default PERSTACK_K8S_START_PATIENCE, else 30 s)
   */
  startPatienceMs?: number
}

/** The options with the environment's defaults filled in, read once when the backend is made. */
interface Settings extends WorkspaceClaim {
  defaultImage: string
  gatewayHost: string | undefined
  runAs: { uid: number; gid: number }
  defaults: ResourceLimits
}

function parseRunAs(value: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(value.trim())
  const uid = Number(match?.[1])
  const gid = Number(match?.[2] ?? match?.[1])
  if (!match || uid === 0 || gid === 0) {
    throw new PerstackError(
      "kubernetes.badRunAs",
      `PERSTACK_K8S_RUN_AS="${value}": expected "uid:gid" of a non-root user (e.g. 1000:1000); sandbox pods never run as root`,
    )
  }
  return { uid, gid }
}

function resolveSettings(options: KubernetesBackendOptions, env: NodeJS.ProcessEnv): Settings {
  return {
    defaultImage: options.image ?? (env.PERSTACK_SANDBOX_IMAGE || DEFAULT_SANDBOX_IMAGE),
    claim: options.workspaceClaim ?? env.PERSTACK_K8S_WORKSPACE_CLAIM,
    claimMount: options.claimMount ?? env.PERSTACK_K8S_CLAIM_MOUNT,
    gatewayHost: options.gatewayHost ?? env.PERSTACK_GATEWAY_HOST,
    runAs: parseRunAs(options.runAs ?? env.PERSTACK_K8S_RUN_AS ?? "1000:1000"),
    defaults: { ...DEFAULT_LIMITS, ...options.limits },
  }
}

/** A pod could not reach the LLM without a network: refused before anything is created. */
function refuseNetworkNone({ spec, settings }: SandboxStartOptions): void {
  if (settings?.network === "none") {
    throw new PerstackError(
      "sandbox.networkNone",
      `Expert "${spec.expert.key}" has [experts."${spec.expert.key}".sandbox] network = "none": its pod could not reach the LLM. Use network = "gateway" or "open" for this Expert`,
    )
  }
}

interface PlanInputs {
  options: KubernetesBackendOptions
  settings: Settings
  k8s: Cluster
  subPath: string
  llmBaseUrl: string | undefined
}

/** Everything the run's Secret and Job are made from. */
function planPod(
  start: SandboxStartOptions,
  { options, settings, k8s, subPath, llmBaseUrl }: PlanInputs,
): PodPlan {
  const { spec, labels, settings: sandbox } = start
  return {
    // One name per start: a resumed run's new Job must not meet its predecessor's pod, still terminating.
    name: objectName(labels.runId, randomBytes(3).toString("hex")),
    image: sandbox?.image ?? settings.defaultImage,
    ...(options.imagePullPolicy ? { imagePullPolicy: options.imagePullPolicy } : {}),
    env: start.env,
    runSpec: JSON.stringify({ ...spec, workspace: IN_POD.workspace, ...(llmBaseUrl ? { llmBaseUrl } : {}) }),
    command: runtimeCommand(IN_POD.specFile),
    labels,
    version: RUNTIME_VERSION,
    expertKey: spec.expert.key,
    claim: settings.claim as string,
    subPath,
    limits: resolveLimits(sandbox, settings.defaults),
    ...(sandbox?.timeout !== undefined ? { timeoutMs: sandbox.timeout } : {}),
    ...settings.runAs,
    ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 600,
    podFailurePolicy: k8s.podFailurePolicy,
    // Through the gateway, tool calls run only once the orchestrator has stored them, as on the other backends.
    ...(start.services?.gateway ? { ackOverHttp: true } : {}),
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    ...(start.protectedPaths ? { protectedPaths: start.protectedPaths } : {}),
  }
}

export function createKubernetesBackend(
  options: KubernetesBackendOptions = {},
): SandboxBackend & AsyncDisposable {
  const env = process.env
  const settings = resolveSettings(options, env)
  const connect = clusterConnector(options, env)
  const sandboxes = new Set<Sandbox>()

  return {
    name: "kubernetes",
    async isolated() {
      return true
    },
    async hostAddress() {
      return settings.gatewayHost
    },
    async reap(labels) {
      await reapRunObjects(await connect(), labels.runId)
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      // What can be refused is refused before the cluster is asked anything.
      refuseNetworkNone(start)
      const subPath = claimSubPath(settings, start.workspace)
      const llmBaseUrl = podLlmBaseUrl(settings.gatewayHost, start)
      const k8s = await connect()
      const plan = planPod(start, { options, settings, k8s, subPath, llmBaseUrl })
      await createRunObjects(k8s, plan, options.labels)
      const sandbox = await startPodSandbox(k8s, plan, {
        onStderr: options.onStderr,
        startPatienceMs: options.startPatienceMs ?? (Number(env.PERSTACK_K8S_START_PATIENCE) || 30_000),
      })
      sandboxes.add(sandbox)
      void sandbox.wait().finally(() => sandboxes.delete(sandbox))
      return sandbox
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([...sandboxes].map((sandbox) => sandbox[Symbol.asyncDispose]()))
    },
  }
}
