// The `perstack` process (loaded by bin.ts): wires stdout, stderr and Ctrl-C to the command line.

import { once } from "node:events"
import { writeProcessStats } from "../../runtime/host/sandbox-process.ts"
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

// A reader that went away (`perstack log | head -1`) ends the command quietly with 0, as Unix tools do: a command
// that only reads stops at once; one that runs a job stops it gracefully (it stays resumable), printing no more.
const READ_ONLY = new Set(["log", "validate", "help", "--help", "-h", "--version", "-V"])
let readerGone = false
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
  readerGone = true
  if (READ_ONLY.has(process.argv[2] ?? "")) process.exit(0)
  controller.abort()
})

const code = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  signal: controller.signal,
  stdout: (text) => {
    if (!readerGone) process.stdout.write(text)
  },
  stderr: (text) => process.stderr.write(text),
  // Waits only when stdout's buffer is full, not for every line (a job can print a million events).
  writeEvent: (line) => {
    if (readerGone || process.stdout.write(line)) return undefined
    // Rejects if the reader goes away meanwhile: the job then stops as above, and must not wait for ever.
    return once(process.stdout, "drain").then(
      () => undefined,
      () => undefined,
    )
  },
})
process.exitCode = readerGone ? 0 : code
// PERSTACK_STATS=1: resource figures on stderr (npm run bench reads them).
if (process.env.PERSTACK_STATS === "1") writeProcessStats("perstack")
