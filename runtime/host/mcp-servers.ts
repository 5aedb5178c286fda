// Part of the runtime's surface for its host (the orchestrator): starting an MCP skill's server as the runtime does,
// so `perstack install` lists the very tools a run will see.
export { DEFAULT_MCP_TIMEOUTS, McpSkill, type McpTimeouts } from "../skills/mcp/mcp-skill.ts"
export { buildSkillEnv } from "../skills/mcp/skill-env.ts"
export { skillTarget } from "../skills/mcp/skill-target.ts"
export { npxPackageOf, stdioLaunch } from "../skills/mcp/stdio-launch.ts"
