// One writer per job: a lock file naming its holder, kept fresh by a heartbeat, taken over only when the
// holder is provably gone (a dead pid on this host, or a heartbeat gone quiet from any host).
import { mkdir, open, readFile, rm, stat, utimes } from "node:fs/promises"
import { hostname } from "node:os"
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

interface LockHolder {
  pid: number
  host: string
  since: number
}

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
  if (holder === undefined) return false
  // On this host the pid says it all; from another host (a restarted pod, another machine) only the heartbeat can.
  if (holder.host === hostname()) return !alive(holder.pid)
  const touched = (await stat(file).catch(() => undefined))?.mtimeMs ?? 0
  return now - touched > LOCK_STALE_MS
}

/** Takes the lock or throws `job.locked` naming who holds it; a stale lock is taken over. */
export async function acquireJobLock(
  file: string,
  jobId: string,
  now: () => number = Date.now,
): Promise<JobLock> {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: now() }
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
      .then((text) => JSON.parse(text) as LockHolder)
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
