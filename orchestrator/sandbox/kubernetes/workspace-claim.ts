// Where a run's workspace is in the PersistentVolumeClaim that every sandbox pod mounts.
import path from "node:path"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

export interface WorkspaceClaim {
  /** the claim's name; without it, no run can start */
  claim: string | undefined
  /** where the claim is mounted on the orchestrator's side (default: the workspace itself) */
  claimMount: string | undefined
}

/** The workspace's sub-path of the claim ("" when the claim is the workspace), or an error saying what to set. */
export function claimSubPath({ claim, claimMount }: WorkspaceClaim, workspace: string): string {
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
