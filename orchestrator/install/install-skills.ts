// `perstack install`'s work: start every MCP server of every Expert once (an identical server declared by several
// Experts once in all), pin each npx package to the version npx resolves, list the tools, and build the lockfile.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import {
  buildSkillEnv,
  DEFAULT_MCP_TIMEOUTS,
  McpSkill,
  type McpTimeouts,
  npxPackageOf,
  skillTarget,
  stdioLaunch,
} from "../../runtime/host/mcp-servers.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import {
  BASE_SKILL_NAME,
  type McpRemoteSkill,
  type McpStdioSkill,
} from "../../runtime/protocol/config/skill.ts"
import type { Lockfile, SkillLock } from "../../runtime/protocol/lockfile.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { RUNTIME_VERSION } from "../../runtime/version.ts"
import { hashConfigText } from "./lock-for-run.ts"
import { resolveNpxVersion } from "./npx-version.ts"

/** servers started at once: npx installs into one shared cache */
const CONCURRENCY = 4
/** lines of a failed server's stderr shown with its error */
const STDERR_TAIL = 15

interface Declared {
  expertKey: string
  skillName: string
  skill: McpStdioSkill | McpRemoteSkill
}

export interface InstalledSkill {
  /** every Expert and skill name that declared this server */
  declaredBy: { expertKey: string; skillName: string }[]
  lock: SkillLock
  startMs: number
}

export interface FailedSkill {
  declaredBy: { expertKey: string; skillName: string }[]
  message: string
}

export interface InstallOptions {
  config: PerstackConfig
  /** the file's name goes into the lock */
  configFile: string
  configText: string
  /** where requiredEnv values come from */
  env: Readonly<Record<string, string | undefined>>
  /** the servers' working directory (npx finds locally installed packages from there) */
  cwd: string
  timeouts?: Partial<McpTimeouts>
  /** called as each server is done */
  onSkill?(result: InstalledSkill | FailedSkill): void
  signal?: AbortSignal
}

/** The lockfile, or the failures (no partial lockfile: a run would silently start the missing servers). */
export async function installSkills(
  options: InstallOptions,
): Promise<{ lockfile: Lockfile; installed: InstalledSkill[] } | { failed: FailedSkill[] }> {
  const timeouts = { ...DEFAULT_MCP_TIMEOUTS, ...options.timeouts }
  // Identical definitions (same command, args, env names or endpoint) are one server.
  const groups = new Map<string, Declared[]>()
  for (const [expertKey, expert] of Object.entries(options.config.experts)) {
    for (const [skillName, skill] of Object.entries(expert.skills)) {
      if (skillName === BASE_SKILL_NAME || skill.type === "interactiveSkill") continue
      const key = JSON.stringify(
        skill.type === "mcpStdioSkill"
          ? [skill.type, stdioLaunch(skill), [...skill.requiredEnv].sort()]
          : [skill.type, skill.endpoint, skill.allowPrivateEndpoint],
      )
      groups.set(key, [...(groups.get(key) ?? []), { expertKey, skillName, skill }])
    }
  }

  const results: (InstalledSkill | FailedSkill)[] = []
  const queue = [...groups.values()]
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const result = await installOne(group, options, timeouts)
      results.push(result)
      options.onSkill?.(result)
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker))

  const failed = results.filter((result): result is FailedSkill => "message" in result)
  if (failed.length > 0) return { failed }
  const installed = results.filter((result): result is InstalledSkill => "lock" in result)
  const experts: Lockfile["experts"] = {}
  for (const { declaredBy, lock } of installed) {
    for (const { expertKey, skillName } of declaredBy) {
      experts[expertKey] ??= { skills: {} }
      experts[expertKey].skills[skillName] = lock
    }
  }
  const lockfile: Lockfile = {
    protocolVersion: PROTOCOL_VERSION,
    configFile: options.configFile.split(/[\\/]/).at(-1) ?? options.configFile,
    configHash: hashConfigText(options.configText),
    generatedBy: `perstack ${RUNTIME_VERSION}`,
    experts,
  }
  return { lockfile, installed }
}

async function installOne(
  group: readonly Declared[],
  options: InstallOptions,
  timeouts: McpTimeouts,
): Promise<InstalledSkill | FailedSkill> {
  const [first] = group
  const declaredBy = group.map(({ expertKey, skillName }) => ({ expertKey, skillName }))
  if (!first) return { declaredBy, message: "internal: empty group" }
  const { skillName, skill } = first
  const stderr: string[] = []
  const started = performance.now()
  try {
    let lockedPackage: string | undefined
    if (skill.type === "mcpStdioSkill") {
      const pkg = npxPackageOf(stdioLaunch(skill))
      if (pkg) {
        // The probe gets what the server gets: the pass-through list (proxies, HOME for npm's config).
        const env = buildSkillEnv({ skillName, requiredEnv: [], sandboxEnv: options.env })
        const version = await resolveNpxVersion({
          npx: skill.command,
          spec: pkg.spec,
          name: pkg.name,
          cwd: options.cwd,
          env,
          timeoutMs: timeouts.startMs * 3,
          signal: options.signal,
        })
        lockedPackage = `${pkg.name}@${version}`
      }
    }
    // Started as a run starts it, with the pinned version: the tools listed are that version's.
    const { target, launch } = skillTarget({
      skillName,
      skill,
      env: options.env,
      cwd: options.cwd,
      lockedPackage,
    })
    let serverInfo: SkillLock["serverInfo"]
    const { skill: server, tools } = await McpSkill.start(
      {
        skillName,
        target,
        launch,
        timeouts,
        events: {
          onStderr: (_, line) => {
            stderr.push(line)
            if (stderr.length > STDERR_TAIL) stderr.shift()
          },
          onConnected: (_, info) => {
            serverInfo = info.serverInfo
          },
        },
      },
      options.signal,
    )
    await server.close()
    return {
      declaredBy,
      startMs: Math.round(performance.now() - started),
      lock: {
        ...(lockedPackage ? { package: lockedPackage } : {}),
        ...(serverInfo ? { serverInfo } : {}),
        tools,
      },
    }
  } catch (error) {
    const message = error instanceof PerstackError || error instanceof Error ? error.message : String(error)
    const tail = stderr.length > 0 ? `\n  its stderr:\n${stderr.map((line) => `    ${line}`).join("\n")}` : ""
    return { declaredBy, message: `${message}${tail}` }
  }
}
