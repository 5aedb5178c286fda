// One writer per job: a lock file naming its holder, kept fresh by a heartbeat, taken over only when the
// holder is provably gone (on this host: a dead pid, a pid now used by another process, or an earlier boot; from
// any host: a heartbeat gone quiet).
import { mkdir, open, readFile, rm, stat, utimes } from "node:fs/promises"
import { hostname } from "node:os"
import path from "node:path"
import { z } from "zod"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { processIdentity } from "./process-identity.ts"

const lockHolderSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  since: z.number(),
  /** the holder's start time and boot (absent in locks written before they were recorded, or off Linux) */
  startTime: z.string().optional(),
  bootId: z.string().optional(),
})
type LockHolder = z.infer<typeof lockHolderSchema>

/** How often the holder touches its lock, and how long a silent lock from another host is trusted. */
export const LOCK_HEARTBEAT_MS = 5_000
export const LOCK_STALE_MS = 30_000

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export interface JobLock {
  release(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

async function isStale(file: string, holder: LockHolder | undefined, now: number): Promise<boolean> {
  const touched = async () => (await stat(file).catch(() => undefined))?.mtimeMs ?? 0
  // Unreadable (its writer died between creating and filling it): stale once nobody has touched it for a while.
  if (holder === undefined) return now - (await touched()) > LOCK_STALE_MS
  // On this host the process says it all; from another host (a restarted pod, another machine) only the heartbeat.
  if (holder.host === hostname()) {
    if (!alive(holder.pid)) return true
    const current = await processIdentity(holder.pid)
    // Written before a reboot: every process of that boot is gone, whatever now has its pid.
    if (holder.bootId && current.bootId && holder.bootId !== current.bootId) return true
    // The pid now belongs to a process that started after the holder did.
    return Boolean(holder.startTime && current.startTime && holder.startTime !== current.startTime)
  }
  return now - (await touched()) > LOCK_STALE_MS
}

/** Takes the lock or throws `job.locked` naming who holds it; a stale lock is taken over. */
export async function acquireJobLock(
  file: string,
  jobId: string,
  now: () => number = Date.now,
): Promise<JobLock> {
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: now(),
    ...(await processIdentity(process.pid)),
  }
  await mkdir(path.dirname(file), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx")
      await handle.writeFile(JSON.stringify(me))
      await handle.close()
      const heartbeat = setInterval(() => {
        const at = new Date()
        void utimes(file, at, at).catch(() => undefined)
      }, LOCK_HEARTBEAT_MS)
      heartbeat.unref()
      let released = false
      const release = async () => {
        if (released) return
        released = true
        clearInterval(heartbeat)
        await rm(file, { force: true })
      }
      return { release, [Symbol.asyncDispose]: release }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const holder = await readFile(file, "utf8")
      .then((text) => lockHolderSchema.parse(JSON.parse(text)))
      .catch(() => undefined)
    if (!(await isStale(file, holder, now()))) {
      const who = holder
        ? `process ${holder.pid} on ${holder.host} since ${new Date(holder.since).toISOString()}`
        : "another process"
      throw new PerstackError(
        "job.locked",
        `job ${jobId} is being written by ${who}; wait for it to finish, or stop it`,
      )
    }
    await rm(file, { force: true })
  }
  throw new PerstackError("job.locked", `job ${jobId}: could not take its lock`)
}
