// The delegation tree as text lines, drawn like the original's `perstack log` browser:
//   ⎇ lead "Make a game" · 1 step · 320 tokens · <runId>
//   | \
//   | ✓ designer "Design a level" · 2 steps · 1.2k tokens · <runId>
//   | /
//   ✓ lead (resumed) · 2 steps · 426 tokens · <runId>
import { compact, oneLine, plural, quote } from "../text/text-preview.ts"
import { markGlyph } from "./run-marks.ts"
import type { RunTreeNode } from "./run-tree.ts"

/** One drawn line; the run's lines carry their node (the history browser selects by it), the braces do not. */
export interface TreeLine {
  text: string
  node?: RunTreeNode
}

const QUERY_CHARS = 60

export function treeLines(nodes: readonly RunTreeNode[]): TreeLine[] {
  const lines: TreeLine[] = []
  const draw = (level: readonly RunTreeNode[], prefix: string) => {
    for (const node of level) {
      lines.push({ text: `${prefix}${nodeLine(node)}`, node })
      if (node.children.length === 0) continue
      lines.push({ text: `${prefix}| \\` })
      draw(node.children, `${prefix}| `)
      lines.push({ text: `${prefix}| /` })
    }
  }
  draw(nodes, "")
  return lines
}

export function renderRunTree(nodes: readonly RunTreeNode[]): string[] {
  return treeLines(nodes).map((line) => line.text)
}

function nodeLine(node: RunTreeNode): string {
  const how = node.attempt ? ` (retry ${node.attempt}: its sandbox died)` : node.resumed ? " (resumed)" : ""
  const head = `${markGlyph(node.mark)} ${node.expertKey}${how}`
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
