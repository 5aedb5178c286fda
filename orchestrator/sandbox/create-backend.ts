// Picks the sandbox backend by name.
import type { SandboxBackend as BackendName } from "../../runtime/protocol/config/perstack-toml.ts"
import { createDockerBackend } from "./docker/docker-backend.ts"
import { createKubernetesBackend } from "./kubernetes/kubernetes-backend.ts"
import { createLocalBackend } from "./local/local-backend.ts"
import type { SandboxBackend } from "./sandbox.ts"

export function createBackend(
  name: BackendName,
  options: { onStderr?: ((runId: string, chunk: Buffer) => void) | undefined } = {},
): SandboxBackend {
  const onStderr = options.onStderr ? { onStderr: options.onStderr } : {}
  switch (name) {
    case "local":
      return createLocalBackend(onStderr)
    case "docker":
      return createDockerBackend(onStderr)
    case "kubernetes":
      return createKubernetesBackend(onStderr)
  }
}
