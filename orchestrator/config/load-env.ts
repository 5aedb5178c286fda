// The environment a job sees: .env files, then the real environment on top. Sandboxes get only parts of it.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { parseEnv } from "node:util"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

export const DEFAULT_ENV_FILES = [".env", ".env.local"] as const

/**
 * Precedence, lowest to highest: the files in order (so `.env.local` overrides `.env`, and a later
 * `--env-path` overrides an earlier one), then the real process environment, which always wins.
 * (The original let `.env` beat `.env.local`; this is the convention most tools follow.)
 * Relative paths resolve against `dir` (the workspace). Default files may be missing; named ones may not.
 */
export async function loadEnv(options: {
  dir: string
  /** --env-path values, or perstack.toml's envPath; default .env and .env.local */
  files?: readonly string[]
  processEnv: Readonly<Record<string, string | undefined>>
}): Promise<Record<string, string | undefined>> {
  const named = options.files !== undefined && options.files.length > 0
  const files = named ? (options.files ?? []) : DEFAULT_ENV_FILES
  const merged: Record<string, string | undefined> = {}
  for (const file of files) {
    const full = path.resolve(options.dir, file)
    let text: string
    try {
      text = await readFile(full, "utf8")
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && !named) continue
      throw new PerstackError(
        "env.unreadable",
        `${full}: cannot read the env file: ${(error as Error).message}`,
      )
    }
    Object.assign(merged, parseEnv(text))
  }
  for (const [key, value] of Object.entries(options.processEnv)) {
    if (value !== undefined && value !== "") merged[key] = value
  }
  return merged
}
