// Every tool an Expert's run can call: the base skill, its delegates and its interactive tools, by model-facing name.

import { PerstackError } from "../errors/perstack-error.ts"
import type { IdGenerator } from "../ids.ts"
import { BASE_SKILL_NAME } from "../protocol/config/skill.ts"
import type { ToolResultContent } from "../protocol/message.ts"
import type { DelegateInfo, RunSpecExpert } from "../protocol/run-spec.ts"
import type { BaseToolContext } from "./base/base-tools.ts"
import { baseToolDefinitions } from "./base/base-tools.ts"
import { fromMcpContent, type McpContent } from "./mcp-content.ts"
import { createToolNameAllocator, delegateToolName, skillToolName } from "./tool-names.ts"

export interface ToolEntry {
  /** the name the model calls */
  llmName: string
  description: string
  parameters: Record<string, unknown>
  kind: "base" | "delegate" | "interactive"
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
  /** runs a base (later: MCP) tool; never throws for a tool's own failure */
  call(entry: ToolEntry, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolOutcome>
  close(): Promise<void>
}

export interface SkillSetEvents {
  onConnected?(skillName: string, durations: { connectDurationMs: number }): void
  onDisconnected?(skillName: string): void
}

function selectTools<T extends { name: string }>(
  tools: readonly T[],
  pick: readonly string[],
  omit: readonly string[],
) {
  return tools.filter((tool) => (pick.length === 0 || pick.includes(tool.name)) && !omit.includes(tool.name))
}

export function createSkillSet(options: {
  expert: RunSpecExpert
  delegates: readonly DelegateInfo[]
  isDelegated: boolean
  baseContext: BaseToolContext
  ids: IdGenerator
  events?: SkillSetEvents
}): SkillSet {
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
      kind: "base",
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
    throw new PerstackError(
      "skill.unsupported",
      `skill "${skillName}" (${skill.type}): MCP server skills are not supported by this runtime yet`,
    )
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
  let base:
    | Promise<{
        callTool: (
          name: string,
          args: Record<string, unknown>,
          signal?: AbortSignal,
        ) => Promise<{ content: McpContent[]; isError?: boolean }>
        close: () => Promise<void>
      }>
    | undefined

  // The MCP SDK loads only when the first base tool is called, off the path to the first LLM request.
  const connectBase = () => {
    base ??= (async () => {
      const started = performance.now()
      const { connectBaseSkill } = await import("./base/base-server.ts")
      const connection = await connectBaseSkill(options.baseContext)
      options.events?.onConnected?.(BASE_SKILL_NAME, {
        connectDurationMs: Math.round(performance.now() - started),
      })
      return {
        // Its request timeout outlasts exec's own longest timeout (the client's default 60 s would not).
        callTool: (name, args, signal) => connection.callTool(name, args, { signal }),
        close: () => connection.close(),
      }
    })()
    return base
  }

  return {
    tools,
    byLlmName: (name) => byName.get(name),
    async call(entry, args, signal) {
      if (entry.kind !== "base")
        throw new Error(`internal: ${entry.kind} tools are not called through the skill set`)
      try {
        const result = await (await connectBase()).callTool(entry.toolName, args, signal)
        return {
          contents: fromMcpContent(result.content ?? [], options.ids),
          isError: result.isError === true,
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        return {
          contents: [
            { type: "textPart", id: options.ids(), text: JSON.stringify({ error: "ToolError", message }) },
          ],
          isError: true,
        }
      }
    },
    async close() {
      if (!base) return
      const connection = await base.catch(() => undefined)
      await connection?.close()
      options.events?.onDisconnected?.(BASE_SKILL_NAME)
    },
  }
}
