// The history browser's checkpoint rows: a run's checkpoints, one line each (its tree rows are job-tree/tree-lines.ts).
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import { compact, oneLine } from "../text/text-preview.ts"

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
