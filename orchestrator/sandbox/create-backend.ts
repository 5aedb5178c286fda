// Picks the sandbox backend by name, loading only its module: the Docker and Kubernetes clients cost hundreds of
// milliseconds to load, and a local run needs neither.
import type { SandboxBackend as BackendName } from "../../runtime/protocol/config/perstack-toml.ts"
import type { SandboxBackend } from "./sandbox.ts"

export interface BackendOptions {
  onStderr?: ((runId: string, chunk: Buffer) => void) | undefined
}

export type BackendFactory = (options?: BackendOptions) => SandboxBackend

/** The named backend's factory, its module loaded now (once): a sync factory for callers that make many. */
export async function loadBackend(name: BackendName): Promise<BackendFactory> {
  const only = (options: BackendOptions = {}) => (options.onStderr ? { onStderr: options.onStderr } : {})
  switch (name) {
    case "local": {
      const { createLocalBackend } = await import("./local/local-backend.ts")
      return (options) => createLocalBackend(only(options))
    }
    case "docker": {
      const { createDockerBackend } = await import("./docker/docker-backend.ts")
      return (options) => createDockerBackend(only(options))
    }
    case "kubernetes": {
      const { createKubernetesBackend } = await import("./kubernetes/kubernetes-backend.ts")
      return (options) => createKubernetesBackend(only(options))
    }
  }
}

export async function createBackend(
  name: BackendName,
  options: BackendOptions = {},
): Promise<SandboxBackend> {
  return (await loadBackend(name))(options)
}
