// Reads and writes perstack.lock, which sits next to the perstack.toml it was made from.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { LOCKFILE_NAME, type Lockfile, lockfileSchema } from "../../runtime/protocol/lockfile.ts"
import { formatKeyPath } from "../config/config-problem.ts"
import { writeFileAtomic } from "../store/atomic-file.ts"

export function lockfilePathFor(configFile: string): string {
  return path.join(path.dirname(configFile), LOCKFILE_NAME)
}

/** undefined when there is no lockfile; throws `lockfile.invalid` (naming the file and key path) for a broken one. */
export async function readLockfile(options: { configFile: string }): Promise<Lockfile | undefined> {
  const file = lockfilePathFor(options.configFile)
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw new PerstackError("lockfile.unreadable", `${file}: cannot read: ${(error as Error).message}`, {
      cause: error,
    })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new PerstackError(
      "lockfile.invalid",
      `${file}: not JSON (${(error as Error).message}); run \`perstack install\` to write it again`,
      { cause: error },
    )
  }
  const parsed = lockfileSchema.safeParse(raw)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const at = issue.path.filter((segment): segment is string | number => typeof segment !== "symbol")
      return `${file}: ${at.length > 0 ? `${formatKeyPath(at)}: ` : ""}${issue.message}`
    })
    throw new PerstackError(
      "lockfile.invalid",
      `${problems.join("\n")}\nrun \`perstack install\` to write it again`,
      { cause: parsed.error },
    )
  }
  return parsed.data
}

/** Keys in a fixed order (Experts and skills sorted), so installing twice over the same servers changes nothing. */
export function serializeLockfile(lockfile: Lockfile): string {
  const sorted = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  const experts = Object.fromEntries(
    Object.entries(sorted(lockfile.experts)).map(([key, expert]) => [key, { skills: sorted(expert.skills) }]),
  )
  return `${JSON.stringify({ ...lockfile, experts }, null, 2)}\n`
}

export async function writeLockfile(file: string, lockfile: Lockfile): Promise<void> {
  await writeFileAtomic(file, serializeLockfile(lockfile))
}
