// Stops a server process gracefully, then forcefully: close its stdin and wait, SIGTERM its process group and
// wait, then SIGKILL the group. Every wait is bounded and unref'd, so a stuck server never holds the run open.
import type { ChildProcess } from "node:child_process"

export type StopOutcome = "exited" | "terminated" | "killed" | "unkillable"

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    // the negative pid is the group the detached server leads: npx's children go with it
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once("exit", () => resolve()))
}

function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    timer.unref()
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** `graceMs` is each wait's bound: at most three of them in all. */
export async function stopProcess(child: ChildProcess, options: { graceMs: number }): Promise<StopOutcome> {
  const done = exited(child)
  child.stdin?.end()
  if (await within(done, options.graceMs)) {
    // The leader (often npx) is gone; anything it left behind in its group is not.
    signalGroup(child, "SIGTERM")
    return "exited"
  }
  signalGroup(child, "SIGTERM")
  if (await within(done, options.graceMs)) return "terminated"
  signalGroup(child, "SIGKILL")
  return (await within(done, options.graceMs)) ? "killed" : "unkillable"
}
