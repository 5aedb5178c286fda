// Tool names as the model sees them: unique across skills and delegates, and valid for every provider.
import { createHash } from "node:crypto"

/** OpenAI, Anthropic and Gemini all accept this. */
const VALID = /^[A-Za-z0-9_-]{1,64}$/

function sanitize(name: string): string {
  const clean = name.replace(/\//g, "__").replace(/[^A-Za-z0-9_-]/g, "_")
  if (clean.length <= 64) return clean || "tool"
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8)
  return `${clean.slice(0, 55)}_${hash}`
}

/** Hands out names; a name already taken gets a numeric suffix. */
export function createToolNameAllocator() {
  const used = new Set<string>()
  return (wanted: string): string => {
    const base = sanitize(wanted)
    let name = base
    for (let n = 2; used.has(name); n++) {
      const suffix = `_${n}`
      name = `${base.slice(0, 64 - suffix.length)}${suffix}`
    }
    used.add(name)
    if (!VALID.test(name)) throw new Error(`internal: tool name "${name}" is not valid`)
    return name
  }
}

const unscoped = (name: string) => name.replace(/^@/, "")
/** `<skill>__<tool>`, the namespaced name of a skill's tool. */
export const skillToolName = (skill: string, tool: string) => `${unscoped(skill)}__${tool}`
/** `delegate__<expert name>` (`@team/critic` → `delegate__team__critic`): the tool that hands a task to a delegate. */
export const delegateToolName = (expertName: string) => `delegate__${unscoped(expertName)}`
