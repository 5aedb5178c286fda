// The perstack/sandbox image both container backends run: its name at this product's version (so an image of
// another version is never used by mistake), and how the runtime inside it is started.
import { RUNTIME_NODE_FLAGS } from "../../../runtime/host/sandbox-process.ts"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"

export const DEFAULT_SANDBOX_IMAGE = `perstack/sandbox:${RUNTIME_VERSION}`

/** Where the image holds the runtime's bundle. */
export const RUNTIME_IN_IMAGE = "/opt/perstack/runtime/perstack-runtime.js"

/** The command that runs the runtime on a RunSpec file inside the container ("-": the RunSpec on stdin). */
export function runtimeCommand(specFile: string): string[] {
  return ["node", ...RUNTIME_NODE_FLAGS, RUNTIME_IN_IMAGE, specFile]
}
