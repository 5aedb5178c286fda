// The package's library entry: run Experts from TypeScript; the CLI is a thin layer over the same call.
export { type JobResult, type RunOptions, run } from "./api/run.ts"
export { loadConfig, parseConfigText } from "./config/load-config.ts"
export { JobStore } from "./store/job-store.ts"
