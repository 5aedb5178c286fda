// Entry point of the `perstack` binary: wires stdout, stderr and Ctrl-C to the command line.

import { once } from "node:events"
import { writeProcessStats } from "../../runtime/cli/process-stats.ts"
import { main } from "./main.ts"

const controller = new AbortController()
let interrupts = 0
process.on("SIGINT", () => {
  interrupts++
  if (interrupts === 1) {
    process.stderr.write(
      "\nperstack: stopping every sandbox; the job stays resumable (Ctrl-C again to quit at once)\n",
    )
    controller.abort()
  } else {
    process.exit(130)
  }
})
process.on("SIGTERM", () => controller.abort())

const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  signal: controller.signal,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // Waits only when stdout's buffer is full, not for every line (a job can print a million events).
  writeEvent: (line) =>
    process.stdout.write(line) ? undefined : once(process.stdout, "drain").then(() => undefined),
})
process.exitCode = code
// PERSTACK_STATS=1: resource figures on stderr (npm run bench reads them).
if (process.env.PERSTACK_STATS === "1") writeProcessStats("perstack")
