// Who a process is, beyond its pid: a pid is reused after its process ends and starts over at every boot, so a
// lock names its holder's start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) and the boot id.
import { readFile } from "node:fs/promises"

export interface ProcessIdentity {
  /** the kernel's id of this boot (/proc/sys/kernel/random/boot_id) */
  bootId?: string
  /** when the process started, in clock ticks after boot */
  startTime?: string
}

/** Undefined fields where /proc cannot tell (not Linux, or the process is gone). */
export async function processIdentity(pid: number): Promise<ProcessIdentity> {
  const [bootId, stat] = await Promise.all([
    readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => undefined),
    readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined),
  ])
  // The command name (field 2) is in parentheses and may hold spaces or ")": the fields after its last ")" start
  // at field 3, so the start time, field 22, is the 20th of them.
  const startTime = stat
    ?.slice(stat.lastIndexOf(")") + 1)
    .trim()
    .split(/\s+/)[19]
  return {
    ...(bootId?.trim() ? { bootId: bootId.trim() } : {}),
    ...(startTime ? { startTime } : {}),
  }
}
