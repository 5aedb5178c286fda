// Local sandboxes started ahead of their runs: each has loaded the runtime and waits on stdin, with every variable
// its run will have except the run's own (its gateway token), which it gets on stdin when claimed. Pooled per job and
// per launch plan (the same command, mounts and environment), bounded, and killed when their job ends or they idle.
import { createHash } from "node:crypto"
import type { LaunchedProcess, LaunchPlan } from "./local-process.ts"

/** A warm sandbox unclaimed this long is killed: it holds about a runtime's memory. */
const IDLE_MS = 60_000

export function planKey(plan: LaunchPlan): string {
  const env = Object.entries(plan.env).sort(([a], [b]) => a.localeCompare(b))
  return createHash("sha256")
    .update(JSON.stringify([plan.command, plan.args, plan.cwd, env]))
    .digest("hex")
}

interface Entry {
  jobId: string
  key: string
  process: Promise<LaunchedProcess | undefined>
  timer: NodeJS.Timeout
}

export class LocalWarmPool {
  private readonly entries = new Set<Entry>()
  readonly capacity: number

  /** `capacity`: warm sandboxes at most, across every job of this backend */
  constructor(capacity: number) {
    this.capacity = capacity
  }

  get size(): number {
    return this.entries.size
  }

  /** Starts sandboxes for `plan` ahead of their runs until `count` wait for it, as far as the capacity allows. */
  fill(jobId: string, plan: LaunchPlan, count: number, launch: () => Promise<LaunchedProcess>): void {
    const key = planKey(plan)
    const waiting = [...this.entries].filter((entry) => entry.jobId === jobId && entry.key === key).length
    for (let i = waiting; i < count && this.entries.size < this.capacity; i++) {
      const entry: Entry = {
        jobId,
        key,
        // A launch that fails leaves nothing in the pool: the run that would have claimed it starts cold.
        process: launch().catch(() => undefined),
        timer: setTimeout(() => this.drop(entry), IDLE_MS),
      }
      entry.timer.unref()
      this.entries.add(entry)
    }
  }

  /** A warm sandbox of this job for this plan, idle and alive, taken out of the pool; undefined when none. */
  async claim(jobId: string, plan: LaunchPlan): Promise<LaunchedProcess | undefined> {
    const key = planKey(plan)
    for (const entry of this.entries) {
      if (entry.jobId !== jobId || entry.key !== key) continue
      this.entries.delete(entry)
      clearTimeout(entry.timer)
      const process = await entry.process
      if (process?.idle()) return process
      process?.kill()
    }
    return undefined
  }

  /** Kills the job's warm sandboxes (all of them without a job id). */
  async release(jobId?: string): Promise<void> {
    await Promise.all(
      [...this.entries]
        .filter((entry) => jobId === undefined || entry.jobId === jobId)
        .map((entry) => this.drop(entry)),
    )
  }

  private async drop(entry: Entry): Promise<void> {
    this.entries.delete(entry)
    clearTimeout(entry.timer)
    const process = await entry.process
    if (!process) return
    process.kill()
    await new Promise<void>((resolve) => {
      if (process.child.exitCode !== null || process.child.signalCode !== null) resolve()
      else process.child.once("exit", () => resolve())
    })
  }
}
