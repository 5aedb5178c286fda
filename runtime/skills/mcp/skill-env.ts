// The environment an MCP server starts with: the sandbox's pass-through list, plus only its own `requiredEnv`.
import { PerstackError } from "../../errors/perstack-error.ts"
import { EXEC_PASSTHROUGH_ENV, PROTECTED_ENV_NAMES } from "../base/exec-env.ts"

const PROTECTED = new Set(PROTECTED_ENV_NAMES.map((name) => name.toUpperCase()))

/**
 * Throws `skill.missingEnv` naming every required variable that is unset or empty, and `skill.protectedEnv` for a
 * required name that changes which code runs (LD_PRELOAD, NODE_OPTIONS, ...): those are never handed to a server.
 * Nothing else of the sandbox's environment (the provider API key above all) reaches the server.
 */
export function buildSkillEnv(options: {
  skillName: string
  requiredEnv: readonly string[]
  sandboxEnv: Readonly<Record<string, string | undefined>>
  /** the user's `--env` names: every server gets them too, when set */
  forwarded?: readonly string[]
}): Record<string, string> {
  const { skillName, requiredEnv, sandboxEnv } = options
  const refused = requiredEnv.filter((name) => PROTECTED.has(name.toUpperCase()))
  if (refused.length > 0) {
    throw new PerstackError(
      "skill.protectedEnv",
      `skill "${skillName}": requiredEnv names ${refused.join(", ")}, which a skill may not be given (it changes which programs and libraries run); remove it from requiredEnv`,
    )
  }
  const missing = requiredEnv.filter((name) => !sandboxEnv[name])
  if (missing.length > 0) {
    const list = missing.join(", ")
    throw new PerstackError(
      "skill.missingEnv",
      `skill "${skillName}" needs the environment variable${missing.length > 1 ? "s" : ""} ${list} (requiredEnv), which ${missing.length > 1 ? "are" : "is"} not set`,
    )
  }
  const env: Record<string, string> = {}
  const forwarded = (options.forwarded ?? []).filter((name) => !PROTECTED.has(name.toUpperCase()))
  for (const name of [...EXEC_PASSTHROUGH_ENV, ...forwarded, ...requiredEnv]) {
    const value = sandboxEnv[name]
    if (value !== undefined) env[name] = value
  }
  return env
}
