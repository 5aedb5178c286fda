// The system prompt: how the agent loop works, then the Expert's instruction, its skills' rules and its delegates.
import type { DelegateInfo, RunSpecExpert } from "../protocol/run-spec.ts"

export function buildInstruction(options: {
  expert: RunSpecExpert
  delegates: readonly { info: DelegateInfo; toolName: string }[]
  workspace: string
  now: number
  isDelegated: boolean
}): string {
  const { expert } = options
  const sections = [
    `You are "${expert.name}", an Expert run by Perstack. You work autonomously in a loop: each turn, call the tools you need; their results come back to you and you continue.

Rules:
- Keep calling tools until the task is done. A reply without any tool call ends your run, and its text is your final answer.
- When you are done, call attemptCompletion on its own (with no other tool call in the same turn). If todos remain open it tells you so; otherwise you are then asked for your final answer.
- Files live in the workspace, your working directory: ${options.workspace}. Paths outside it, and the perstack/ folder, are not accessible.
- ${options.isDelegated ? "Another Expert delegated this task to you: your final answer is returned to it, so make it complete and self-contained." : "Your final answer is shown to the user."}

Current time: ${new Date(options.now).toISOString()}`,
    `# Instruction\n\n${expert.instruction.trim()}`,
  ]
  // A skill's description says what it is for, its rule how to use it. A delegate has no interactive tools.
  const described = Object.entries(expert.skills).filter(
    ([, skill]) =>
      (skill.rule?.trim() || skill.description?.trim()) &&
      !(options.isDelegated && skill.type === "interactiveSkill"),
  )
  if (described.length > 0) {
    sections.push(
      `# Skills\n\n${described
        .map(([name, skill]) =>
          [`## ${name}`, skill.description?.trim(), skill.rule?.trim()].filter(Boolean).join("\n\n"),
        )
        .join("\n\n")}`,
    )
  }
  if (options.delegates.length > 0) {
    sections.push(
      `# Delegates\n\nYou can hand a task to another Expert by calling its tool with a self-contained \`query\`; it works in the same workspace and returns its final answer. Several delegate calls in one turn run in parallel.\n\n${options.delegates
        .map(
          ({ info, toolName }) =>
            `- ${info.key} (tool \`${toolName}\`): ${info.description?.trim() ?? "no description"}`,
        )
        .join("\n")}`,
    )
  }
  return sections.join("\n\n")
}
