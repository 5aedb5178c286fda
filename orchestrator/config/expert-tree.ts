// Renders who delegates to whom, as a tree rooted at the Experts nobody delegates to.
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"

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

export function renderExpertTree(config: PerstackConfig): string {
  const keys = Object.keys(config.experts)
  const delegated = new Set(keys.flatMap((key) => config.experts[key]?.delegates ?? []))
  // In a pure cycle nobody is a root; then every Expert starts a tree.
  const roots = keys.filter((key) => !delegated.has(key))
  const lines: string[] = []
  const walk = (key: string, prefix: string, childPrefix: string, path: readonly string[]) => {
    const cycle = path.includes(key)
    lines.push(`${prefix}${label(config, key)}${cycle ? "  (delegates back up: cycle)" : ""}`)
    if (cycle) return
    const delegates = config.experts[key]?.delegates ?? []
    delegates.forEach((delegate, index) => {
      const last = index === delegates.length - 1
      walk(delegate, `${childPrefix}${last ? "└─ " : "├─ "}`, `${childPrefix}${last ? "   " : "│  "}`, [
        ...path,
        key,
      ])
    })
  }
  for (const root of roots.length > 0 ? roots : keys) walk(root, "", "", [])
  return lines.join("\n")
}
