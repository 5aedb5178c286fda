// Entry point of the `perstack` binary: wires stdout, stderr and Ctrl-C to the command line.
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
  writeEvent: (line) =>
    new Promise<void>((resolve, reject) =>
      process.stdout.write(line, (error) => (error ? reject(error) : resolve())),
    ),
})
process.exitCode = code
