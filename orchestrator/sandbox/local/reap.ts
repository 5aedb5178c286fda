// Finds and kills local sandboxes by their labels (the PERSTACK_JOB_ID / PERSTACK_RUN_ID in their environment):
// what an orchestrator that died left running.
import { readdir, readFile } from "node:fs/promises"
import { descendantsOf, signalAll } from "./process-tree.ts"

/** Kills every process whose environment says it is `runId` of `jobId`, with all its descendants. Returns the pids. */
export async function reapLocalSandbox(labels: { jobId: string; runId: string }): Promise<number[]> {
  const wanted = [`PERSTACK_JOB_ID=${labels.jobId}`, `PERSTACK_RUN_ID=${labels.runId}`]
  const entries = await readdir("/proc").catch(() => [] as string[])
  const found: number[] = []
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "")
    const variables = environ.split("\0")
    if (wanted.every((variable) => variables.includes(variable))) found.push(Number(entry))
  }
  const tree = (await Promise.all(found.map((pid) => descendantsOf(pid)))).flat()
  signalAll([...found, ...tree], "SIGKILL")
  return found
}
