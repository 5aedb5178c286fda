import { describe, expect, it } from "vitest"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import type { RunTreeNode } from "./run-tree.ts"
import { renderRunTree, treeLines } from "./tree-lines.ts"

const node = (runId: string, fields: Partial<RunTreeNode> = {}): RunTreeNode => ({
  runId,
  expertKey: runId,
  status: "completed",
  mark: "completed",
  resumed: false,
  steps: 1,
  events: 4,
  usage: { ...emptyUsage(), totalTokens: 1234 },
  startedAt: 0,
  children: [],
  ...fields,
})

describe("the tree as lines", () => {
  it("keeps which line is which run, the braces around delegates belonging to none", () => {
    const child = node("child", { steps: 2 })
    const root = node("root", { mark: "delegated", status: "stoppedByDelegate", children: [child] })
    const lines = treeLines([root])
    expect(lines.map((line) => [line.text, line.node?.runId])).toEqual([
      ["⎇ root · 1 step · 1.2k tokens · root", "root"],
      ["| \\", undefined],
      ["| ✓ child · 2 steps · 1.2k tokens · child", "child"],
      ["| /", undefined],
    ])
    expect(renderRunTree([root])).toEqual(lines.map((line) => line.text))
  })

  it("says which attempt a retry is, and why a segment failed", () => {
    const lines = renderRunTree([
      node("again", { attempt: 2, resumed: true }),
      node("bad", {
        mark: "failed",
        status: "stoppedByError",
        query: "Fix\nit",
        error: { name: "ProviderError", message: "rate\nlimited", isRetryable: true },
      }),
      node("quiet", { mark: "failed", status: "stoppedByError" }),
    ])
    expect(lines).toEqual([
      "✓ again (retry 2: its sandbox died) · 1 step · 1.2k tokens · again",
      '✗ bad "Fix it" · 1 step · 1.2k tokens · error: rate limited · bad',
      "✗ quiet · 1 step · 1.2k tokens · failed · quiet",
    ])
  })
})
