// The interactive `perstack log`: the history browser on the store, and from a checkpoint a resumed job in the
// live view. Loaded only through a dynamic import, like the rest of the UI.
import path from "node:path"
import { findConfigFile } from "../config/load-config.ts"
import type { JobStore } from "../store/job-store.ts"
import { startUi } from "./start-ui.tsx"

export async function browseLog(options: {
  store: JobStore
  cwd: string
  workspace: string
  signal?: AbortSignal
  stderr: (text: string) => void
}): Promise<number> {
  // A resume needs perstack.toml, found as `perstack run` finds it; browsing does not.
  const configPath = await findConfigFile({ cwd: options.cwd }).catch(() => undefined)
  return startUi({
    base: { workspace: path.resolve(options.workspace), ...(configPath ? { configPath } : {}) },
    store: options.store,
    experts: [],
    jobs: [],
    initial: { kind: "history" },
    ...(options.signal ? { signal: options.signal } : {}),
    stderr: options.stderr,
  })
}
