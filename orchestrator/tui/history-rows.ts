// The rows of the history browser: the job's delegation tree drawn as `perstack log` draws it, each run selectable.
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { RunTreeNode } from "../log/run-tree.ts"
import { compact, oneLine } from "../log/text-preview.ts"
import { nodeLine } from "../log/tree-render.ts"

export interface TreeRow {
  text: string
  node?: RunTreeNode
}

/** The same drawing as renderRunTree, keeping which line is which run. */
export function treeRows(nodes: readonly RunTreeNode[]): TreeRow[] {
  const rows: TreeRow[] = []
  const draw = (level: readonly RunTreeNode[], prefix: string) => {
    for (const node of level) {
      rows.push({ text: `${prefix}${nodeLine(node)}`, node })
      if (node.children.length === 0) continue
      rows.push({ text: `${prefix}| \\` })
      draw(node.children, `${prefix}| `)
      rows.push({ text: `${prefix}| /` })
    }
  }
  draw(nodes, "")
  return rows
}

/** "step 3 · completed · 1.2k tokens · “the last thing said”" */
export function checkpointLine(checkpoint: Checkpoint): string {
  const last = checkpoint.messages.at(-1)
  const parts: string[] = []
  for (const part of last?.contents ?? []) {
    if ("text" in part && typeof part.text === "string") parts.push(part.text)
    else if (part.type === "toolCallPart") parts.push(`${part.toolName}(…)`)
  }
  const said = parts.length > 0 ? ` · ${oneLine(parts.join(" "), 70)}` : ""
  return `step ${checkpoint.stepNumber} · ${checkpoint.status} · ${compact(checkpoint.usage.totalTokens)} tokens${said}`
}
