// Where a container sends its LLM requests: a loopback endpoint on the host becomes host.docker.internal.
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"
import { effectiveBaseUrl, isLoopbackHost } from "../container/llm-endpoint.ts"

/** The name a container reaches its host by (mapped to the host's bridge address with `host-gateway`). */
export const HOST_ALIAS = "host.docker.internal"

/**
 * The `llmBaseUrl` to give a container: the effective URL with a loopback host replaced by HOST_ALIAS (inside a
 * container, loopback is the container itself), or undefined when it needs no change. The server must listen on
 * an address containers reach (0.0.0.0 or the bridge's gateway, e.g. 172.17.0.1), not on 127.0.0.1 alone.
 */
export function containerLlmBaseUrl(
  spec: RunSpec,
  env: Readonly<Record<string, string>>,
): string | undefined {
  const url = effectiveBaseUrl(spec, env)
  if (!url) return undefined
  const parsed = new URL(url)
  if (!isLoopbackHost(parsed.hostname)) return undefined
  parsed.hostname = HOST_ALIAS
  return parsed.toString()
}
