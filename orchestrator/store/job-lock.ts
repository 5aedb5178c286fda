// One writer per job: a lock file naming its holder, taken over only when that holder is provably gone.
import { mkdir, open, readFile, rm } from "node:fs/promises"
import { hostname } from "node:os"
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

interface LockHolder {
  pid: number
  host: string
  since: number
}

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

/** Takes the lock or throws `job.locked` naming who holds it. A lock left by a dead process on this host is taken over. */
export async function acquireJobLock(file: string, jobId: string): Promise<JobLock> {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() }
  await mkdir(path.dirname(file), { recursive: true })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx")
      await handle.writeFile(JSON.stringify(me))
      await handle.close()
      let released = false
      const release = async () => {
        if (released) return
        released = true
        await rm(file, { force: true })
      }
      return { release, [Symbol.asyncDispose]: release }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const holder = await readFile(file, "utf8")
      .then((text) => JSON.parse(text) as LockHolder)
      .catch(() => undefined)
    const stale = holder !== undefined && holder.host === me.host && !alive(holder.pid)
    if (!stale) {
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
