// Test support: Debian's chromium, headless, as a real browser with no npm dependency: `--dump-dom` prints the DOM
// once the page's scripts ran, `--screenshot` saves a PNG.
import { execFile } from "node:child_process"
import { constants } from "node:fs"
import { access } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

/** chromium (or chromium-browser) on the PATH; PERSTACK_CHROMIUM names another. */
export async function findChromium(): Promise<string | undefined> {
  const named = process.env.PERSTACK_CHROMIUM
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)
  const candidates = named
    ? [named]
    : dirs.flatMap((dir) => ["chromium", "chromium-browser"].map((name) => path.join(dir, name)))
  for (const candidate of candidates) {
    const runnable = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    )
    if (runnable) return candidate
  }
  return undefined
}

/** Opens `url` with `flags` in a profile of its own under `profileDir`; what chromium printed. */
export async function browse(
  chromium: string,
  options: { url: string; profileDir: string; flags: string[] },
): Promise<string> {
  const { stdout } = await execFileAsync(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--user-data-dir=${options.profileDir}`,
      ...options.flags,
      options.url,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  )
  return stdout
}
