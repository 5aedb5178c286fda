// Where an MCP skill's server is and how it starts: the command line and environment of a stdio server, or the
// endpoint of a remote one, and what skillStarting shows for it. Shared by runs and by `perstack install`.
import type { McpRemoteSkill, McpStdioSkill } from "../../protocol/config/skill.ts"
import type { McpTarget } from "./connect-server.ts"
import { buildSkillEnv } from "./skill-env.ts"
import { stdioLaunch } from "./stdio-launch.ts"

export interface SkillTarget {
  target: McpTarget
  /** for skillStarting: the command line, or the transport and the endpoint without its query (it may hold a token) */
  launch: { command: string; args: string[] }
}

/** Throws `skill.missingEnv` / `skill.protectedEnv` (see buildSkillEnv) before anything starts. */
export function skillTarget(options: {
  skillName: string
  skill: McpStdioSkill | McpRemoteSkill
  /** the sandbox's environment, of which the server gets the pass-through list and its requiredEnv */
  env: Readonly<Record<string, string | undefined>>
  /** a stdio server's working directory */
  cwd: string
  /** the exact npx package from a lock */
  lockedPackage?: string
  /** the user's `--env` names (RunSpec.forwardedEnv) */
  forwardedEnv?: readonly string[]
}): SkillTarget {
  const { skillName, skill } = options
  if (skill.type === "mcpStdioSkill") {
    const launch = stdioLaunch(skill, options.lockedPackage)
    const env = buildSkillEnv({
      skillName,
      requiredEnv: skill.requiredEnv,
      sandboxEnv: options.env,
      ...(options.forwardedEnv ? { forwarded: options.forwardedEnv } : {}),
    })
    return { launch, target: { transport: "stdio", ...launch, env, cwd: options.cwd } }
  }
  const transport = skill.type === "mcpSseSkill" ? "sse" : "streamableHttp"
  const url = new URL(skill.endpoint)
  return {
    launch: { command: transport, args: [`${url.origin}${url.pathname}`] },
    target: { transport, url: skill.endpoint, allowPrivateEndpoint: skill.allowPrivateEndpoint },
  }
}
