// `perstack install`: starts every MCP skill's server once and writes perstack.lock next to perstack.toml.
import { readFile } from "node:fs/promises"
import path from "node:path"
import type { McpTimeouts } from "../../runtime/host/mcp-servers.ts"
import { ConfigError } from "../config/config-problem.ts"
import { loadConfig } from "../config/load-config.ts"
import { loadEnv } from "../config/load-env.ts"
import { type InstalledSkill, installSkills } from "../install/install-skills.ts"
import { lockfilePathFor, writeLockfile } from "../install/lockfile-store.ts"
import type { CommandIo } from "./validate.ts"

export interface InstallIo extends CommandIo {
  /** where requiredEnv values come from, with .env files under it (default: process.env) */
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  /** tests shorten them */
  mcpTimeouts?: Partial<McpTimeouts>
}

const names = (declaredBy: InstalledSkill["declaredBy"]) =>
  declaredBy.map(({ expertKey, skillName }) => `${expertKey} / ${skillName}`).join(", ")

/** Returns the exit code: 0 written, 1 a config problem or a server that did not start (nothing written then). */
export async function installCommand(
  options: { config?: string; envPath?: string[] },
  io: InstallIo,
): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadConfig>>
  try {
    loaded = await loadConfig({ configPath: options.config, cwd: io.cwd })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr(`${error.message}\n`)
    return 1
  }
  const configText = await readFile(loaded.file, "utf8")
  const projectDir = path.dirname(loaded.file)
  // --env-path over perstack.toml's envPath; relative paths from the working directory, as the original.
  const env = await loadEnv({
    dir: io.cwd,
    files: options.envPath ?? loaded.config.envPath,
    processEnv: io.env ?? process.env,
  })
  const started = performance.now()
  const result = await installSkills({
    config: loaded.config,
    configFile: loaded.file,
    configText,
    env,
    cwd: projectDir,
    ...(io.mcpTimeouts ? { timeouts: io.mcpTimeouts } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    onSkill: (skill) => {
      if ("message" in skill) {
        io.stderr(`${names(skill.declaredBy)}: did not start: ${skill.message}\n`)
        return
      }
      const { lock } = skill
      const what = lock.package ?? lock.serverInfo?.name ?? "server"
      io.stdout(
        `${names(skill.declaredBy)}: ${what}, ${lock.tools.length} tool${lock.tools.length === 1 ? "" : "s"} (${skill.startMs} ms)\n`,
      )
    },
  })
  const file = lockfilePathFor(loaded.file)
  if ("failed" in result) {
    const count = result.failed.length
    io.stderr(
      `${count} skill${count === 1 ? "" : "s"} did not start; ${path.basename(file)} was not written\n`,
    )
    return 1
  }
  await writeLockfile(file, result.lockfile)
  const skills = result.installed.length
  const tools = result.installed.reduce((sum, skill) => sum + skill.lock.tools.length, 0)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  io.stdout(
    skills === 0
      ? `${file}: written (no MCP skills to lock)\n`
      : `${file}: written, ${skills} server${skills === 1 ? "" : "s"}, ${tools} tool${tools === 1 ? "" : "s"} (${seconds} s)\n`,
  )
  return 0
}
