// Part of the runtime's surface for its host (the orchestrator): how the runtime's process is started (its Node
// flags), which environment names it never takes from outside, how it reports its figures, and its retry timing.

export { RUNTIME_NODE_FLAGS } from "../cli/node-flags.ts"
export { writeProcessStats } from "../cli/process-stats.ts"
export { backoffDelay, sleep } from "../llm/backoff.ts"
export { PROTECTED_ENV_NAMES } from "../skills/base/exec-env.ts"
