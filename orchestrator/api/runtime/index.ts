// `perstack/runtime`: the embedding API the product docs show (upstream's @perstack/runtime `run()`).
export { PerstackError } from "../../../runtime/errors/perstack-error.ts"
export type { Checkpoint } from "../../../runtime/protocol/checkpoint.ts"
export type { PerstackEvent } from "../../../runtime/protocol/events/index.ts"
export { run } from "./run.ts"
export type { RunCallbacks, RunParams, RunSettingInput as RunSetting } from "./run-params.ts"
