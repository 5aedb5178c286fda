// Finds a process's descendants on Linux (/proc), so a sandbox's whole tree can be stopped.
import { readdir, readFile } from "node:fs/promises"

/** All descendants of `pid`, children first; empty where /proc is not available. */
export async function descendantsOf(pid: number): Promise<number[]> {
  const entries = await readdir("/proc").catch(() => [] as string[])
  const parents = new Map<number, number[]>()
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => undefined)
        // The command name (field 2) may hold spaces and parentheses: parse after its closing ')'.
        const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ")
        const ppid = Number(fields?.[1])
        if (!Number.isFinite(ppid)) return
        const siblings = parents.get(ppid) ?? []
        siblings.push(Number(entry))
        parents.set(ppid, siblings)
      }),
  )
  const found: number[] = []
  const queue = [pid]
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const child of parents.get(current) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}
