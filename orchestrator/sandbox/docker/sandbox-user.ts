// Which uid:gid a sandbox container runs as: the workspace's owner, so that the Expert can write there and every
// file it creates belongs, on the host, to whoever owns the workspace.
import { stat } from "node:fs/promises"

/**
 * `override` (e.g. PERSTACK_DOCKER_USER=1000:1000) wins. A workspace owned by root gives root, still without any
 * capability, on a read-only root file system, with no-new-privileges: a root-owned workspace is writable by
 * nobody else, and a different uid would leave files root cannot tell from a stranger's.
 */
export async function sandboxUser(workspace: string, override?: string): Promise<string> {
  if (override) {
    if (!/^\d+(:\d+)?$/.test(override)) {
      throw new Error(`the sandbox user must be numeric, "uid" or "uid:gid" (got "${override}")`)
    }
    return override.includes(":") ? override : `${override}:${override}`
  }
  const { uid, gid } = await stat(workspace)
  return `${uid}:${gid}`
}
