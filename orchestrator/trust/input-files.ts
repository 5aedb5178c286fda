// Which files a `perstack run` reads to decide what runs: perstack.toml, the perstack.lock beside it, the env files.
import path from "node:path"
import { LOCKFILE_NAME } from "../../runtime/protocol/lockfile.ts"
import { DEFAULT_ENV_FILES } from "../config/load-env.ts"
import type { InputFile } from "./job-inputs.ts"

/** The env files loadEnv reads for these settings (named ones, else the defaults): relative to the workspace. */
export function envFilesOf(named: readonly string[] | undefined): readonly string[] {
  return named !== undefined && named.length > 0 ? named : DEFAULT_ENV_FILES
}

export function jobInputFiles(options: {
  workspace: string
  /** absent when the config was given as text or parsed */
  configFile?: string
  envFiles: readonly string[]
}): InputFile[] {
  const files: InputFile[] = []
  if (options.configFile) {
    files.push({ file: options.configFile, role: "config" })
    files.push({ file: path.join(path.dirname(options.configFile), LOCKFILE_NAME), role: "lock" })
  }
  for (const file of options.envFiles)
    files.push({ file: path.resolve(options.workspace, file), role: "env" })
  return files
}
