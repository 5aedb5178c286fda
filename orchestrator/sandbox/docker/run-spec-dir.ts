// The folder holding one container's RunSpec, mounted read-only at /run/perstack. It lives under the workspace's
// perstack/ folder, which the engine's host can see even when the orchestrator runs in a container of its own.
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises"
import path from "node:path"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"

export interface RunSpecDir {
  /** the folder as the orchestrator sees it */
  readonly dir: string
  write(spec: RunSpec): Promise<void>
  remove(): Promise<void>
}

export async function createRunSpecDir(workspace: string, name: string): Promise<RunSpecDir> {
  const dir = path.join(workspace, "perstack", "sandboxes", name)
  await mkdir(dir, { recursive: true })
  // Readable by the container's user, whoever it is; a RunSpec holds no secret (the schema refuses them).
  await chmod(dir, 0o755)
  return {
    dir,
    async write(spec) {
      const file = path.join(dir, "run-spec.json")
      // Whole or absent: a container that reads it never sees half a file.
      await writeFile(`${file}.tmp`, JSON.stringify(spec), { mode: 0o444 })
      await rename(`${file}.tmp`, file)
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
