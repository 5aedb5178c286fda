// The `kubernetes` backend: each run is a batch/v1 Job of one pod running the runtime over the job's workspace
// claim. The backend finds the pod by its `job-name` label, waits until it runs, follows its log through the API
// into the same event intake as the other backends, reads the end from the pod and the Job, and deletes the Job
// (with background propagation: without it the pod is left behind) and its Secret.
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import path from "node:path"
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  VersionApi,
} from "@kubernetes/client-node"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { effectiveBaseUrl, isLoopbackHost } from "../container/llm-endpoint.ts"
import {
  DEFAULT_LIMITS,
  memoryBytes,
  type ResourceLimits,
  resolveLimits,
} from "../container/resource-limits.ts"
import { DEFAULT_SANDBOX_IMAGE, runtimeCommand } from "../container/sandbox-image.ts"
import type {
  Sandbox,
  SandboxBackend,
  SandboxExit,
  SandboxExitReason,
  SandboxStartOptions,
} from "../sandbox.ts"
import { StderrTail } from "../stderr-tail.ts"
import { type ApiAction, apiStatusCode, kubeApiError } from "./api-errors.ts"
import { IN_POD, jobFor, K8S_LABEL, labelValue, objectName, type PodPlan, secretFor } from "./job-spec.ts"
import { type ContainerState, followLog } from "./log-follow.ts"
import { type PodPhase, PodWatch } from "./pod-watch.ts"

export interface KubernetesBackendOptions {
  /** default: KUBECONFIG, ~/.kube/config, or the pod's service account when running in a cluster */
  kubeConfig?: KubeConfig
  /** default PERSTACK_K8S_NAMESPACE, else the kubeconfig context's, else the pod's own, else "default" */
  namespace?: string
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

interface Connected {
  kubeConfig: KubeConfig
  batch: BatchV1Api
  core: CoreV1Api
  namespace: string
  server: string
  podFailurePolicy: boolean
}

const IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

function defaultNamespace(kubeConfig: KubeConfig): string {
  const fromContext = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace
  if (fromContext) return fromContext
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE, "utf8").trim() || "default"
  } catch {
    return "default"
  }
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

/** Kubernetes 1.26+ applies podFailurePolicy (1.20 drops it silently, and would reject nothing). */
function supportsPodFailurePolicy(minor: string | undefined): boolean {
  return Number.parseInt(minor ?? "0", 10) >= 26
}

export function createKubernetesBackend(
  options: KubernetesBackendOptions = {},
): SandboxBackend & AsyncDisposable {
  const env = process.env
  const defaultImage = options.image ?? (env.PERSTACK_SANDBOX_IMAGE || DEFAULT_SANDBOX_IMAGE)
  const claim = options.workspaceClaim ?? env.PERSTACK_K8S_WORKSPACE_CLAIM
  const claimMount = options.claimMount ?? env.PERSTACK_K8S_CLAIM_MOUNT
  const gatewayHost = options.gatewayHost ?? env.PERSTACK_GATEWAY_HOST
  const runAs = parseRunAs(options.runAs ?? env.PERSTACK_K8S_RUN_AS ?? "1000:1000")
  const defaults: ResourceLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const sandboxes = new Set<Sandbox>()
  let connected: Promise<Connected> | undefined

  const connect = () => {
    connected ??= (async () => {
      const kubeConfig = options.kubeConfig ?? new KubeConfig()
      if (!options.kubeConfig) kubeConfig.loadFromDefault()
      const server = kubeConfig.getCurrentCluster()?.server
      if (!server) {
        throw new PerstackError(
          "kubernetes.noConfig",
          "no Kubernetes cluster configured: set KUBECONFIG (or ~/.kube/config), or run inside a pod with a service account",
        )
      }
      const namespace = options.namespace ?? env.PERSTACK_K8S_NAMESPACE ?? defaultNamespace(kubeConfig)
      const version = await kubeConfig
        .makeApiClient(VersionApi)
        .getCode()
        .catch((error: unknown) => {
          throw kubeApiError(error, { verb: "get", resource: "/version", namespace }, server)
        })
      return {
        kubeConfig,
        batch: kubeConfig.makeApiClient(BatchV1Api),
        core: kubeConfig.makeApiClient(CoreV1Api),
        namespace,
        server,
        podFailurePolicy: supportsPodFailurePolicy(version.minor),
      }
    })()
    connected.catch(() => {
      connected = undefined
    })
    return connected
  }

  const call = async <T>(k8s: Connected, action: Omit<ApiAction, "namespace">, request: () => Promise<T>) => {
    try {
      return await request()
    } catch (error) {
      throw kubeApiError(error, { ...action, namespace: k8s.namespace }, k8s.server)
    }
  }

  /** Deletes a run's Job (background: its pod goes too) and Secret; gone already is fine. */
  const remove = async (k8s: Connected, name: string) => {
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

  /** The workspace's place in the claim. */
  const subPathOf = (workspace: string): string => {
    if (!claim) {
      throw new PerstackError(
        "kubernetes.noWorkspaceClaim",
        "the kubernetes backend needs the PersistentVolumeClaim that holds the workspace: set PERSTACK_K8S_WORKSPACE_CLAIM (and PERSTACK_K8S_CLAIM_MOUNT, where that claim is mounted here); see k8s/README.md",
      )
    }
    const mount = path.resolve(claimMount ?? workspace)
    const relative = path.relative(mount, path.resolve(workspace))
    if (relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new PerstackError(
        "kubernetes.workspaceOutsideClaim",
        `the workspace ${workspace} is not inside ${mount}, where the claim "${claim}" is mounted (PERSTACK_K8S_CLAIM_MOUNT): the sandbox pods could not see it`,
      )
    }
    return relative.split(path.sep).join("/")
  }

  /** The LLM endpoint a pod can reach: a loopback one means the host this orchestrator runs on. */
  const podLlmBaseUrl = (options: SandboxStartOptions): string | undefined => {
    const url = effectiveBaseUrl(options.spec, options.env)
    if (!url) return undefined
    const parsed = new URL(url)
    if (!isLoopbackHost(parsed.hostname)) return undefined
    if (!gatewayHost) {
      throw new PerstackError(
        "kubernetes.unreachableLlm",
        `the LLM endpoint ${url} is on this machine's loopback, which pods cannot reach: set PERSTACK_GATEWAY_HOST to an address of this machine the cluster's pods reach (inside a cluster, the orchestrator pod's IP)`,
      )
    }
    parsed.hostname = gatewayHost.includes(":") ? `[${gatewayHost}]` : gatewayHost
    return parsed.toString()
  }

  return {
    name: "kubernetes",
    async isolated() {
      return true
    },
    async hostAddress() {
      return gatewayHost
    },
    async reap(labels) {
      const k8s = await connect()
      const labelSelector = `${K8S_LABEL.run}=${labelValue(labels.runId)}`
      const jobs = await call(k8s, { verb: "list", resource: "jobs.batch" }, () =>
        k8s.batch.listNamespacedJob({ namespace: k8s.namespace, labelSelector }),
      )
      await Promise.all(
        jobs.items.map((job) => (job.metadata?.name ? remove(k8s, job.metadata.name) : undefined)),
      )
    },
    async start(start: SandboxStartOptions): Promise<Sandbox> {
      const { spec, labels, settings } = start
      if (settings?.network === "none") {
        throw new PerstackError(
          "sandbox.networkNone",
          `Expert "${spec.expert.key}" has [experts."${spec.expert.key}".sandbox] network = "none": its pod could not reach the LLM. Use network = "gateway" or "open" for this Expert`,
        )
      }
      const subPath = subPathOf(start.workspace)
      const llmBaseUrl = podLlmBaseUrl(start)
      const k8s = await connect()
      // One name per start: a resumed run's new Job must not meet its predecessor's pod, still terminating.
      const name = objectName(labels.runId, randomBytes(3).toString("hex"))
      const image = settings?.image ?? defaultImage
      const limits = resolveLimits(settings, defaults)
      const plan: PodPlan = {
        name,
        image,
        ...(options.imagePullPolicy ? { imagePullPolicy: options.imagePullPolicy } : {}),
        env: start.env,
        runSpec: JSON.stringify({
          ...spec,
          workspace: IN_POD.workspace,
          ...(llmBaseUrl ? { llmBaseUrl } : {}),
        }),
        command: runtimeCommand(IN_POD.specFile),
        labels,
        version: RUNTIME_VERSION,
        expertKey: spec.expert.key,
        claim: claim as string,
        subPath,
        limits,
        ...(settings?.timeout !== undefined ? { timeoutMs: settings.timeout } : {}),
        ...runAs,
        ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 600,
        podFailurePolicy: k8s.podFailurePolicy,
        // Through the gateway, tool calls run only once the orchestrator has stored them, as on the other backends.
        ...(start.services?.gateway ? { ackOverHttp: true } : {}),
        ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
        ...(start.protectedPaths ? { protectedPaths: start.protectedPaths } : {}),
      }
      const secret = secretFor(plan)
      const job = jobFor(plan)
      for (const object of [secret, job]) Object.assign(object.metadata?.labels ?? {}, options.labels)
      const { namespace } = k8s
      await call(k8s, { verb: "create", resource: "secrets", name }, () =>
        k8s.core.createNamespacedSecret({ namespace, body: secret }),
      )
      let created: V1Job
      try {
        created = await call(k8s, { verb: "create", resource: "jobs.batch", name }, () =>
          k8s.batch.createNamespacedJob({ namespace, body: job }),
        )
      } catch (error) {
        await remove(k8s, name).catch(() => undefined)
        throw error
      }
      // Owned by the Job: whoever deletes the Job (we, or the TTL controller) deletes the Secret with it.
      const uid = created.metadata?.uid
      if (uid) {
        void k8s.core
          .patchNamespacedSecret(
            {
              name,
              namespace,
              body: {
                metadata: {
                  ownerReferences: [
                    { apiVersion: "batch/v1", kind: "Job", name, uid, blockOwnerDeletion: false },
                  ],
                },
              },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          )
          .catch(() => undefined)
      }
      const sandbox = await followRun(k8s, plan, {
        remove,
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

/** Waits for the run's pod to run, then gives its Sandbox handle. */
async function followRun(
  k8s: Connected,
  plan: PodPlan,
  hooks: {
    remove(k8s: Connected, name: string): Promise<void>
    onStderr: ((runId: string, chunk: Buffer) => void) | undefined
    startPatienceMs: number
  },
): Promise<Sandbox> {
  const started = Date.now()
  const { namespace } = k8s
  const name = plan.name
  const watch = new PodWatch({
    kubeConfig: k8s.kubeConfig,
    core: k8s.core,
    namespace,
    jobName: name,
    container: IN_POD.container,
  })
  watch.start()
  const first = await untilStarted(watch, hooks.startPatienceMs)
  if (first.kind === "stuck") {
    watch.close()
    await hooks.remove(k8s, name).catch(() => undefined)
    throw new PerstackError("sandbox.startFailed", describeStuck(first, plan.image))
  }
  const podName = watch.current?.metadata?.name ?? ""
  const tail = new StderrTail()
  const abort = new AbortController()
  let stopReason: "cancelled" | "timeout" | undefined
  const state = async (): Promise<ContainerState> => {
    const phase = watch.phase()
    return phase.kind === "ended" ? "ended" : phase.kind === "running" ? "running" : "waiting"
  }
  let markDrained: () => void = () => {}
  const drained = new Promise<void>((resolve) => {
    markDrained = resolve
  })
  // The API merges stdout and stderr: an event line is a JSON object (`{"`), anything else is the runtime's stderr.
  async function* stdout(): AsyncGenerator<Uint8Array> {
    try {
      for await (const line of followLog({
        kubeConfig: k8s.kubeConfig,
        target: { namespace, pod: podName, container: IN_POD.container },
        state,
        signal: abort.signal,
      })) {
        if (line[0] === 0x7b && line[1] === 0x22) yield line
        else {
          tail.push(line)
          hooks.onStderr?.(plan.labels.runId, line)
        }
      }
    } finally {
      markDrained()
    }
  }

  const ended = watch.until((phase) => phase.kind === "ended")
  let removed: Promise<void> | undefined
  const cleanUp = () => {
    removed ??= (async () => {
      watch.close()
      await hooks.remove(k8s, name).catch(() => undefined)
    })()
    return removed
  }
  const exit = (async (): Promise<SandboxExit> => {
    const end = (await ended) as Extract<PodPhase, { kind: "ended" }> | PodPhase
    await drained
    const current = await k8s.batch.readNamespacedJob({ name, namespace }).catch(() => undefined)
    const failed = current?.status?.conditions?.find(
      (condition) => condition.type === "Failed" && condition.status === "True",
    )
    const exitCode = end.kind === "ended" ? end.exitCode : null
    const reason: SandboxExitReason =
      stopReason ??
      (failed?.reason === "DeadlineExceeded"
        ? "timeout"
        : end.kind === "ended" && end.reason === "OOMKilled"
          ? "oomKilled"
          : exitCode === 0
            ? "completed"
            : "crashed")
    void cleanUp()
    const note =
      end.kind === "ended" && exitCode !== 0 && end.reason
        ? `\n(pod: ${end.reason}${end.message ? `: ${end.message}` : ""})`
        : ""
    const memoryLimitBytes = quantityBytes(
      current?.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory,
    )
    return {
      exitCode,
      reason,
      stderrTail: `${tail.text()}${note}`.trim(),
      durationMs: Date.now() - started,
      ...(reason === "oomKilled" && memoryLimitBytes ? { memoryLimitBytes } : {}),
    }
  })()

  // The grace period is the pod's own (5 s): graceMs is not Kubernetes' to vary per stop.
  const stop = async ({
    reason = "cancelled",
  }: {
    graceMs?: number
    reason?: "cancelled" | "timeout"
  } = {}) => {
    if (watch.phase().kind === "ended") return
    stopReason ??= reason
    // Parallelism 0: the Job controller deletes the pod, which gets SIGTERM (the runtime ends with a resumable
    // checkpoint), then SIGKILL after the pod's 5 s grace period. (Deleting the pod instead would have the
    // controller start another: a pod being deleted no longer counts as the Job's.)
    await k8s.batch
      .patchNamespacedJob(
        { name, namespace, body: { spec: { parallelism: 0 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      )
      // Refused: deleting the Job takes the pod along.
      .catch(() => hooks.remove(k8s, name).catch(() => undefined))
    await ended
  }
  return {
    id: `${namespace}/${podName}`,
    backend: "kubernetes",
    image: plan.image,
    stdout: stdout(),
    wait: () => exit,
    stop,
    async [Symbol.asyncDispose]() {
      await stop({ graceMs: 1_000 })
      abort.abort()
      markDrained()
      await cleanUp()
    },
  }
}

/** A pod's memory limit ("2Gi", "512Mi", bytes) in bytes, or undefined when it has none this can read. */
function quantityBytes(quantity: string | undefined): number | undefined {
  if (quantity === undefined) return undefined
  try {
    return memoryBytes(quantity)
  } catch {
    return undefined
  }
}
