// Entry point of `perstack-runtime`: enable Node's compile cache before loading anything heavy.
import module from "node:module"

module.enableCompileCache?.()
const { main } = await import("./main.ts")
process.exitCode = await main(process.argv.slice(2))
