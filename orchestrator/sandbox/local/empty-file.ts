// The orchestrator's own files for local sandboxes, in its cache folder: where they live, and the empty file that
// masks a protected path (bound read-only over it: reads are empty, writes fail).
import { lstat, mkdir, rm, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import path from "node:path"

export function perstackCacheDir(): string {
  return (
    process.env.PERSTACK_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "perstack")
  )
}

let made: Promise<string> | undefined

/** A zero-byte, read-only regular file of ours (checked, and made again if it is anything else). */
export function emptyFile(): Promise<string> {
  made ??= (async () => {
    const file = path.join(perstackCacheDir(), "sandbox", "empty")
    const info = await lstat(file).catch(() => undefined)
    if (info?.isFile() && info.size === 0 && info.uid === process.getuid?.()) return file
    await mkdir(path.dirname(file), { recursive: true, mode: 0o755 })
    await rm(file, { force: true, recursive: true })
    await writeFile(file, "", { mode: 0o444, flag: "wx" })
    return file
  })()
  made.catch(() => {
    made = undefined
  })
  return made
}
