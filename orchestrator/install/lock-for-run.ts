// What the orchestrator needs from perstack.lock to start a run: is it fresh, and each Expert's RunSpec.skillLocks.
import { createHash } from "node:crypto"
import { LOCKFILE_NAME, type Lockfile, type SkillLocks } from "../../runtime/protocol/lockfile.ts"
import { readLockfile } from "./lockfile-store.ts"

/** `sha256:<hex>` of perstack.toml's text; line endings and a BOM do not count. */
export function hashConfigText(text: string): string {
  const normalised = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n")
  return `sha256:${createHash("sha256").update(normalised).digest("hex")}`
}

/** Why the lock may not be used for this perstack.toml text, or undefined when it is fresh. */
export function lockfileStaleness(lockfile: Lockfile, configText: string): string | undefined {
  const now = hashConfigText(configText)
  if (lockfile.configHash === now) return undefined
  return `${LOCKFILE_NAME} is stale: ${lockfile.configFile} changed after \`perstack install\` wrote it (${lockfile.configHash.slice(0, 19)}… then, ${now.slice(0, 19)}… now); it is not used, so MCP servers start before the first LLM request. Run \`perstack install\` again.`
}

/** RunSpec.skillLocks for one Expert: undefined when the lock has none for it. */
export function skillLocksFor(lockfile: Lockfile, expertKey: string): SkillLocks | undefined {
  const skills = lockfile.experts[expertKey]?.skills
  return skills && Object.keys(skills).length > 0 ? skills : undefined
}

/**
 * The lock next to `configFile`, if there is one and it matches `configText`. A stale lock is not returned; `stale`
 * says why, for the caller to print (never used silently). Throws `lockfile.invalid` for a broken file.
 */
export async function lockForRun(options: {
  configFile: string
  configText: string
}): Promise<{ lockfile?: Lockfile; stale?: string }> {
  const lockfile = await readLockfile({ configFile: options.configFile })
  if (!lockfile) return {}
  const stale = lockfileStaleness(lockfile, options.configText)
  return stale ? { stale } : { lockfile }
}
