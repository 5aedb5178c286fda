// Every tool an Expert's run can call: the base skill, its MCP servers, its delegates and its interactive tools,
// by model-facing name. MCP servers start before the first LLM request, or, with a lock, at their first call.
import { PerstackError } from "../errors/perstack-error.ts"
import type { IdGenerator } from "../ids.ts"
import { BASE_SKILL_NAME } from "../protocol/config/skill.ts"
import type { LockedTool, SkillLock, SkillLocks } from "../protocol/lockfile.ts"
import type { ToolResultContent } from "../protocol/message.ts"
import type { DelegateInfo, RunSpecExpert } from "../protocol/run-spec.ts"
import type { BaseToolContext } from "./base/base-tools.ts"
import { baseToolDefinitions } from "./base/base-tools.ts"
import type { McpSkill, McpSkillEvents, McpTimeouts } from "./mcp/mcp-skill.ts"
import { type SkillTarget, skillTarget } from "./mcp/skill-target.ts"
import { fromMcpContent, type McpContent } from "./mcp-content.ts"
import { createToolNameAllocator, delegateToolName, skillToolName } from "./tool-names.ts"

export interface ToolEntry {
  /** the name the model calls */
  llmName: string
  description: string
  parameters: Record<string, unknown>
  /**
   * "tool": a tool the skill set runs in this sandbox through `call()` (the base skill's, or an MCP server's);
   * "delegate" and "interactive": tools that stop the run.
   */
  kind: "tool" | "delegate" | "interactive"
  skillName: string
  /** the tool's own name in its skill (for a delegate: the Expert key) */
  toolName: string
  delegate?: DelegateInfo
}

export interface ToolOutcome {
  contents: ToolResultContent[]
  isError: boolean
}

export interface SkillSet {
  readonly tools: readonly ToolEntry[]
  byLlmName(name: string): ToolEntry | undefined
  /** runs a base or MCP tool; never throws for a tool's own failure */
  call(entry: ToolEntry, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolOutcome>
  close(): Promise<void>
}

export type SkillSetEvents = McpSkillEvents

export interface SkillSetOptions {
  expert: RunSpecExpert
  delegates: readonly DelegateInfo[]
  isDelegated: boolean
  /** the workspace (MCP servers' working directory), the sandbox env (their env's source) and the run's signal */
  baseContext: BaseToolContext
  ids: IdGenerator
  /** RunSpec.skillLocks: these skills' tools come from the lock and their servers start at the first call */
  skillLocks?: SkillLocks
  mcpTimeouts?: Partial<McpTimeouts>
  events?: SkillSetEvents
}

export interface PreparedSkillSet {
  /** Starts the MCP servers that have no lock and lists their tools. Throws `skill.startFailed` if one cannot. */
  open(): Promise<SkillSet>
  /**
   * The skill set with no MCP server: the base skill, interactive tools and delegates. What a run that stops because
   * a server did not start opens its checkpoint with (its instruction names the same delegates).
   */
  withoutServers(): SkillSet
}

interface McpPlan extends SkillTarget {
  skillName: string
  lock?: SkillLock
}

function selectTools<T extends { name: string }>(
  tools: readonly T[],
  pick: readonly string[],
  omit: readonly string[],
) {
  return tools.filter((tool) => (pick.length === 0 || pick.includes(tool.name)) && !omit.includes(tool.name))
}

/**
 * Checks what can be checked without starting anything (each MCP skill's requiredEnv above all), so a run that
 * cannot start fails before it prints a single event.
 */
/** The modules a run loads only when it first needs them (the MCP SDK and the base skill's server). */
export async function loadLazySkillModules(): Promise<void> {
  await Promise.all([import("./mcp/mcp-skill.ts"), import("./base/base-server.ts")])
}

export function prepareSkillSet(options: SkillSetOptions): PreparedSkillSet {
  const plans: McpPlan[] = []
  for (const [skillName, skill] of Object.entries(options.expert.skills)) {
    if (skillName === BASE_SKILL_NAME || skill.type === "interactiveSkill") continue
    const lock = options.skillLocks?.[skillName]
    const { target, launch } = skillTarget({
      skillName,
      skill,
      env: options.baseContext.env,
      cwd: options.baseContext.workspace,
      lockedPackage: lock?.package,
      ...(options.baseContext.forwardedEnv ? { forwardedEnv: options.baseContext.forwardedEnv } : {}),
    })
    plans.push({ skillName, lock, target, launch })
  }
  return {
    open: async () => assembleSkillSet(options, await startMcpSkills(options, plans)),
    withoutServers: () => assembleSkillSet(options, new Map()),
  }
}

type StartedServers = Map<string, { skill: McpSkill; tools: readonly LockedTool[] }>

function assembleSkillSet(options: SkillSetOptions, servers: StartedServers): SkillSet {
  const allocate = createToolNameAllocator()
  const tools: ToolEntry[] = []

  const declaredBase = options.expert.skills[BASE_SKILL_NAME]
  const basePick = declaredBase && declaredBase.type !== "interactiveSkill" ? declaredBase.pick : []
  const baseOmit = declaredBase && declaredBase.type !== "interactiveSkill" ? declaredBase.omit : []
  for (const tool of selectTools(baseToolDefinitions(), basePick, baseOmit)) {
    // Base tools keep their bare names: the system prompt and the original's users refer to them so.
    tools.push({
      ...tool,
      llmName: allocate(tool.name),
      parameters: tool.inputSchema,
      kind: "tool",
      skillName: BASE_SKILL_NAME,
      toolName: tool.name,
    })
  }
  for (const [skillName, skill] of Object.entries(options.expert.skills)) {
    if (skillName === BASE_SKILL_NAME) continue
    if (skill.type === "interactiveSkill") {
      // Delegates never get interactive tools: only the coordinator can stop and ask the user.
      if (options.isDelegated) continue
      for (const [toolName, tool] of Object.entries(skill.tools)) {
        tools.push({
          llmName: allocate(skillToolName(skillName, toolName)),
          description: tool.description ?? skill.description ?? `${toolName} (asks the user)`,
          parameters: JSON.parse(tool.inputJsonSchema) as Record<string, unknown>,
          kind: "interactive",
          skillName,
          toolName,
        })
      }
      continue
    }
    const server = servers.get(skillName)
    for (const tool of selectTools(server?.tools ?? [], skill.pick, skill.omit)) {
      // `<skill>__<tool>`: two servers' `search` tools, or a tool and a delegate, never share a name.
      tools.push({
        llmName: allocate(skillToolName(skillName, tool.name)),
        description: tool.description ?? skill.description ?? `${tool.name} (skill ${skillName})`,
        parameters: tool.inputSchema,
        kind: "tool",
        skillName,
        toolName: tool.name,
      })
    }
  }
  for (const delegate of options.delegates) {
    tools.push({
      llmName: allocate(delegateToolName(delegate.name)),
      description: delegate.description?.trim() || `Delegate a task to the Expert "${delegate.key}".`,
      parameters: {
        type: "object",
        properties: {
          query: { type: "string", description: "the task, self-contained: the delegate sees nothing else" },
        },
        required: ["query"],
        additionalProperties: false,
      },
      kind: "delegate",
      skillName: `delegate/${delegate.key}`,
      toolName: delegate.key,
      delegate,
    })
  }

  const byName = new Map(tools.map((tool) => [tool.llmName, tool]))
  const base = createBaseSkillClient(options)
  const outcome = (content: readonly McpContent[], isError: boolean): ToolOutcome => ({
    contents: fromMcpContent(content, options.ids),
    isError,
  })

  return {
    tools,
    byLlmName: (name) => byName.get(name),
    async call(entry, args, signal) {
      if (entry.kind !== "tool")
        throw new Error(`internal: ${entry.kind} tools are not called through the skill set`)
      const server = servers.get(entry.skillName)
      if (server) {
        const result = await server.skill.call(entry.toolName, args, signal)
        return outcome(result.content, result.isError)
      }
      try {
        const result = await base.call(entry.toolName, args, signal)
        return outcome(result.content ?? [], result.isError === true)
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        return outcome([{ type: "text", text: JSON.stringify({ error: "ToolError", message }) }], true)
      }
    },
    async close() {
      await Promise.all([base.close(), ...[...servers.values()].map(({ skill }) => skill.close())])
    },
  }
}

/** Starts the unlocked servers in parallel; a locked skill only gets its lazy handle. All or nothing. */
async function startMcpSkills(
  options: SkillSetOptions,
  plans: readonly McpPlan[],
): Promise<Map<string, { skill: McpSkill; tools: readonly LockedTool[] }>> {
  const servers = new Map<string, { skill: McpSkill; tools: readonly LockedTool[] }>()
  if (plans.length === 0) return servers
  // The MCP SDK loads only for an Expert that has MCP skills.
  const { McpSkill, DEFAULT_MCP_TIMEOUTS } = await import("./mcp/mcp-skill.ts")
  const timeouts = { ...DEFAULT_MCP_TIMEOUTS, ...options.mcpTimeouts }
  const signal = options.baseContext.signal
  const settled = await Promise.allSettled(
    plans.map(async (plan) => {
      const skillOptions = {
        skillName: plan.skillName,
        target: plan.target,
        launch: plan.launch,
        timeouts,
        events: options.events ?? {},
      }
      const started = plan.lock
        ? { skill: McpSkill.lazy(skillOptions), tools: plan.lock.tools }
        : await McpSkill.start(skillOptions, signal)
      servers.set(plan.skillName, started)
    }),
  )
  const failures = settled.flatMap((result, index) =>
    result.status === "rejected" ? [{ plan: plans[index], error: result.reason as unknown }] : [],
  )
  if (failures.length > 0) {
    await Promise.all([...servers.values()].map(({ skill }) => skill.close()))
    const lines = failures.map(
      ({ plan, error }) =>
        `skill "${plan?.skillName}" did not start: ${error instanceof Error ? error.message : String(error)}`,
    )
    throw new PerstackError("skill.startFailed", lines.join("; "), { cause: failures[0]?.error })
  }
  return servers
}

type BaseConnection = {
  callTool: (
    name: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal },
  ) => Promise<{ content?: McpContent[]; isError?: boolean }>
  close: () => Promise<void>
}

/** The in-process base skill; the MCP SDK loads when its first tool is called, off the path to the first LLM request. */
function createBaseSkillClient(options: SkillSetOptions) {
  let connection: Promise<BaseConnection> | undefined
  const connect = () => {
    connection ??= (async () => {
      const started = performance.now()
      const { connectBaseSkill } = await import("./base/base-server.ts")
      const connected = await connectBaseSkill(options.baseContext)
      options.events?.onConnected?.(BASE_SKILL_NAME, {
        connectDurationMs: Math.round(performance.now() - started),
      })
      return connected
    })()
    return connection
  }
  return {
    // Its request timeout outlasts exec's own longest timeout (the client's default 60 s would not).
    call: async (name: string, args: Record<string, unknown>, signal?: AbortSignal) =>
      (await connect()).callTool(name, args, { signal }),
    async close() {
      if (!connection) return
      const connected = await connection.catch(() => undefined)
      await connected?.close()
      options.events?.onDisconnected?.(BASE_SKILL_NAME)
    },
  }
}
