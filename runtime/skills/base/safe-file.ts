// Opens files by their resolved path without following a symlink at the last step (one swapped in after the path check).
import { constants } from "node:fs"
import { open, stat } from "node:fs/promises"
import { PerstackError } from "../../errors/perstack-error.ts"
import type { WorkspacePath } from "./workspace-path.ts"

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NOFOLLOW } = constants

/** Refuses a directory or anything else that is not a regular file. Returns its size. */
export async function requireFile(target: WorkspacePath): Promise<number> {
  const stats = await stat(target.absolute)
  if (stats.isDirectory()) {
    throw new PerstackError("file.isDirectory", `"${target.given}" is a directory, not a file.`)
  }
  if (!stats.isFile()) throw new PerstackError("file.notRegular", `"${target.given}" is not a regular file.`)
  return stats.size
}

export async function readFileNoFollow(absolute: string): Promise<Buffer> {
  const handle = await open(absolute, O_RDONLY | O_NOFOLLOW)
  try {
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

export async function writeFileNoFollow(
  absolute: string,
  data: string | Uint8Array,
  mode: "overwrite" | "append",
): Promise<void> {
  const flags =
    mode === "append" ? O_WRONLY | O_APPEND | O_NOFOLLOW : O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW
  const handle = await open(absolute, flags, 0o666)
  try {
    await handle.writeFile(data)
  } finally {
    await handle.close()
  }
}
