// Renders who delegates to whom, as a tree rooted at the Experts nobody delegates to.
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"

/** Deeper than this, a line shows its depth instead of its indentation (a 5,000-Expert chain stays readable). */
const MAX_INDENT_DEPTH = 32

function label(config: PerstackConfig, key: string): string {
  const expert = config.experts[key]
  if (!expert) return key
  const skills = Object.entries(expert.skills).map(([name, skill]) => `${name} (${skill.type})`)
  const description = expert.description?.trim().split("\n")[0]
  return [
    key,
    description ? `: ${description}` : "",
    skills.length > 0 ? `  [skills: ${skills.join(", ")}]` : "",
  ].join("")
}

type Frame =
  | { kind: "enter"; key: string; depth: number; last: boolean; indent: string }
  | { kind: "leave"; key: string }

/**
 * Each Expert is drawn once, with its delegates under it; a later mention says "(see above)", and a delegate
 * that is one of its own ancestors says "(delegates back up: cycle)". Cycles are legal (the step budget bounds
 * them). The walk keeps its own stack, so no depth of delegation can overflow the call stack, and the output
 * grows with the number of delegations, not with the number of paths through them.
 */
export function renderExpertTree(config: PerstackConfig): string {
  const keys = Object.keys(config.experts)
  const delegated = new Set(keys.flatMap((key) => config.experts[key]?.delegates ?? []))
  const lines: string[] = []
  const shown = new Set<string>()
  const onPath = new Set<string>()

  const draw = (root: string) => {
    const stack: Frame[] = [{ kind: "enter", key: root, depth: 0, last: true, indent: "" }]
    for (let frame = stack.pop(); frame; frame = stack.pop()) {
      if (frame.kind === "leave") {
        onPath.delete(frame.key)
        continue
      }
      const { key, depth, last, indent } = frame
      const branch = depth === 0 ? "" : last ? "└─ " : "├─ "
      const prefix = depth > MAX_INDENT_DEPTH ? `(depth ${depth}) ${branch}` : `${indent}${branch}`
      if (onPath.has(key)) {
        lines.push(`${prefix}${key}  (delegates back up: cycle)`)
        continue
      }
      if (shown.has(key)) {
        lines.push(`${prefix}${key}  (see above)`)
        continue
      }
      lines.push(`${prefix}${label(config, key)}`)
      shown.add(key)
      onPath.add(key)
      stack.push({ kind: "leave", key })
      const childIndent =
        depth === 0 || depth > MAX_INDENT_DEPTH ? indent : `${indent}${last ? "   " : "│  "}`
      const delegates = config.experts[key]?.delegates ?? []
      // Pushed last first, so they are drawn in their declared order.
      for (let index = delegates.length - 1; index >= 0; index--) {
        const delegate = delegates[index]
        if (delegate === undefined) continue
        stack.push({
          kind: "enter",
          key: delegate,
          depth: depth + 1,
          last: index === delegates.length - 1,
          indent: childIndent,
        })
      }
    }
  }

  for (const root of keys.filter((key) => !delegated.has(key))) draw(root)
  // Experts reachable only through a cycle (in a pure cycle nobody is a root): the first not yet drawn starts one.
  for (const key of keys) if (!shown.has(key)) draw(key)
  return lines.join("\n")
}
