// The LLM endpoint a run would use, and whether it is this machine's loopback, which no container reaches as such.
import { resolveProvider } from "../../../runtime/host/providers.ts"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\]|0\.0\.0\.0|\[::\])$/i

/** Whether a URL's hostname means "this machine" (inside a container: the container itself). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname)
}

/** The base URL the run would use (RunSpec override, provider setting, env variable, preset), if it resolves. */
export function effectiveBaseUrl(spec: RunSpec, env: Readonly<Record<string, string>>): string | undefined {
  try {
    return resolveProvider({
      provider: spec.provider,
      env,
      ...(spec.llmBaseUrl ? { baseUrlOverride: spec.llmBaseUrl } : {}),
    }).baseUrl
  } catch {
    // A missing key or base URL: the runtime reports it, named, from inside the sandbox.
    return undefined
  }
}
