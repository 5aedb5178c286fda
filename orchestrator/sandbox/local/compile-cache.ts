// Node's compile cache for isolated local sandboxes: filled once by the orchestrator from its own runtime code, and
// bound read-only into every sandbox. A cache a sandbox could write would let one sandbox plant compiled code that
// the next one runs; a private, empty one would make every runtime start cold.
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { RUNTIME_NODE_FLAGS } from "../../../runtime/host/sandbox-process.ts"
import { perstackCacheDir } from "./empty-file.ts"

const STAMP = "perstack-entry-mtime"
const pending = new Map<string, Promise<string | undefined>>()

/**
 * The folder holding the compile cache of `entry` run by `node`, warmed when missing or older than the entry; undefined
 * when it cannot be made (the sandbox then starts without one, only slower).
 */
export function sandboxCompileCache(node: string, entry: string): Promise<string | undefined> {
  const key = `${node}\0${entry}`
  let made = pending.get(key)
  if (!made) {
    made = warm(node, entry).catch(() => undefined)
    pending.set(key, made)
  }
  return made
}

async function warm(node: string, entry: string): Promise<string | undefined> {
  const id = createHash("sha256").update(`${process.version}\0${node}\0${entry}`).digest("hex").slice(0, 16)
  const dir = path.join(perstackCacheDir(), "compile-cache", id)
  const mtime = String((await stat(entry)).mtimeMs)
  const stamp = await readFile(path.join(dir, STAMP), "utf8").catch(() => undefined)
  if (stamp === mtime) return dir
  // Filled aside and renamed into place: a sandbox never sees a half-written cache, two orchestrators never mix.
  const fresh = `${dir}.${process.pid}.tmp`
  await rm(fresh, { recursive: true, force: true })
  await mkdir(fresh, { recursive: true })
  await new Promise<void>((resolve, reject) => {
    execFile(
      node,
      [...RUNTIME_NODE_FLAGS, entry, "--warm-compile-cache"],
      { cwd: fresh, env: { PATH: process.env.PATH ?? "", NODE_COMPILE_CACHE: fresh }, timeout: 60_000 },
      (error) => (error ? reject(error) : resolve()),
    )
  })
  await writeFile(path.join(fresh, STAMP), mtime)
  await rm(dir, { recursive: true, force: true })
  await rename(fresh, dir).catch(async (error: NodeJS.ErrnoException) => {
    // Another orchestrator put its own in place first: as good as ours.
    await rm(fresh, { recursive: true, force: true })
    if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error
  })
  return dir
}
