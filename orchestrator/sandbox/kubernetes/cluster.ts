// The connection to the cluster: the kubeconfig, the API clients, the namespace, and what the server's version
// allows. Made at the first run that needs it; a failed attempt is retried by the next run rather than remembered.
import { readFileSync } from "node:fs"
import { BatchV1Api, CoreV1Api, KubeConfig, VersionApi } from "@kubernetes/client-node"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { type ApiAction, kubeApiError } from "./api-errors.ts"

export interface Cluster {
  kubeConfig: KubeConfig
  batch: BatchV1Api
  core: CoreV1Api
  namespace: string
  server: string
  podFailurePolicy: boolean
}

export interface ClusterOptions {
  /** default: KUBECONFIG, ~/.kube/config, or the pod's service account when running in a cluster */
  kubeConfig?: KubeConfig
  /** default PERSTACK_K8S_NAMESPACE, else the kubeconfig context's, else the pod's own, else "default" */
  namespace?: string
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

/** Kubernetes 1.26+ applies podFailurePolicy (1.20 drops it silently, and would reject nothing). */
function supportsPodFailurePolicy(minor: string | undefined): boolean {
  return Number.parseInt(minor ?? "0", 10) >= 26
}

async function connectCluster(options: ClusterOptions, env: NodeJS.ProcessEnv): Promise<Cluster> {
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
}

/** One connection shared by every run, made on first use; after a failure, the next call tries again. */
export function clusterConnector(options: ClusterOptions, env: NodeJS.ProcessEnv): () => Promise<Cluster> {
  let connected: Promise<Cluster> | undefined
  return () => {
    connected ??= connectCluster(options, env)
    connected.catch(() => {
      connected = undefined
    })
    return connected
  }
}

/** A request whose refusal becomes an error naming the verb, the resource and the namespace. */
export async function callApi<T>(
  k8s: Cluster,
  action: Omit<ApiAction, "namespace">,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request()
  } catch (error) {
    throw kubeApiError(error, { ...action, namespace: k8s.namespace }, k8s.server)
  }
}
