// Where a pod sends its LLM requests: a loopback endpoint means the host this orchestrator runs on, which a pod
// reaches only at the address PERSTACK_GATEWAY_HOST names.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { effectiveBaseUrl, isLoopbackHost } from "../container/llm-endpoint.ts"
import type { SandboxStartOptions } from "../sandbox.ts"

/** The `llmBaseUrl` to give the pod, or undefined when the run's own needs no change. */
export function podLlmBaseUrl(
  gatewayHost: string | undefined,
  { spec, env }: Pick<SandboxStartOptions, "spec" | "env">,
): string | undefined {
  const url = effectiveBaseUrl(spec, env)
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
