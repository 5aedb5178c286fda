// The installed package's root folder, found the same way from the sources and from the dist/ bundle.
import { existsSync, readFileSync } from "node:fs"
import path from "node:path"

function isOurs(dir: string): boolean {
  try {
    return (
      (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string }).name ===
      "perstack"
    )
  } catch {
    return false
  }
}

/** Walks up from `from` (default: this module's folder) to the folder whose package.json is ours. */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json")) && isOurs(dir)) return dir
    if (path.dirname(dir) === dir) throw new Error(`cannot find the perstack package above ${from}`)
  }
}
