// The delegation tree as text, drawn like the original's `perstack log` browser:
//   ⎇ lead "Make a game" · 1 step · 320 tokens · <runId>
//   | \
//   | ✓ designer "Design a level" · 2 steps · 1.2k tokens · <runId>
//   | /
//   ✓ lead (resumed) · 2 steps · 426 tokens · <runId>
import type { RunTreeNode, TreeMark } from "./run-tree.ts"
import { compact, oneLine, plural, quote } from "./text-preview.ts"

const MARKS: Readonly<Record<TreeMark, string>> = {
  completed: "✓",
  failed: "✗",
  running: "●",
  delegated: "⎇",
  waitingForDelegates: "⏸",
  answered: "?",
  waitingForUser: "?",
  outOfSteps: "⊘",
  stopped: "■",
}

const QUERY_CHARS = 60

export function renderRunTree(nodes: readonly RunTreeNode[]): string[] {
  const lines: string[] = []
  const draw = (level: readonly RunTreeNode[], prefix: string) => {
    for (const node of level) {
      lines.push(`${prefix}${nodeLine(node)}`)
      if (node.children.length === 0) continue
      lines.push(`${prefix}| \\`)
      draw(node.children, `${prefix}| `)
      lines.push(`${prefix}| /`)
    }
  }
  draw(nodes, "")
  return lines
}

export function nodeLine(node: RunTreeNode): string {
  const how = node.attempt ? ` (retry ${node.attempt}: its sandbox died)` : node.resumed ? " (resumed)" : ""
  const head = `${MARKS[node.mark]} ${node.expertKey}${how}`
  const query = node.query !== undefined ? ` ${quote(node.query, QUERY_CHARS)}` : ""
  const facts = [plural(node.steps, "step"), `${compact(node.usage.totalTokens)} tokens`]
  const note = noteOf(node)
  if (note) facts.push(note)
  facts.push(node.runId)
  return `${head}${query} · ${facts.join(" · ")}`
}

function noteOf(node: RunTreeNode): string | undefined {
  switch (node.mark) {
    case "failed":
      return node.error ? `error: ${oneLine(node.error.message, 80)}` : "failed"
    case "running":
      return "running"
    case "waitingForDelegates":
      return "waiting for delegates"
    case "waitingForUser":
      return "waiting for the user"
    case "outOfSteps":
      return "out of steps"
    case "stopped":
      return "stopped"
    default:
      return undefined
  }
}
