import { describe, expect, it } from "vitest"
import type { Status } from "../../runtime/protocol/status.ts"
import { emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { JobRun } from "./job-run.ts"
import { buildRunTree, type RunStats, resumePointsWithoutRun } from "./run-tree.ts"
import { renderRunTree } from "./tree-lines.ts"

const tokens = (totalTokens: number): Usage => ({ ...emptyUsage(), totalTokens })
let clock = 0
function run(id: string, expertKey: string, status: Status, links: Partial<JobRun> = {}): JobRun {
  return {
    id,
    expertKey,
    status,
    startedAt: clock++,
    lastCheckpointId: `${id}.end`,
    source: "run.json",
    ...links,
  }
}
const stats = (runs: JobRun[], overrides: Record<string, Partial<RunStats>> = {}) =>
  new Map(runs.map((each): [string, RunStats] => [each.id, { events: 10, steps: 1, ...overrides[each.id] }]))

describe("the delegation tree", () => {
  it("draws each segment under the one that delegated to it, and resumed segments after the ones they resume", () => {
    clock = 0
    const runs = [
      run("c1", "create-expert", "stoppedByDelegate", { usage: tokens(1000) }),
      run("p1", "plan", "completed", { parentRunId: "c1", usage: tokens(500) }),
      run("c2", "create-expert", "stoppedByDelegate", { resumedFrom: "c1.end", usage: tokens(1500) }),
      run("v1", "verify", "stoppedByDelegate", { parentRunId: "c2", usage: tokens(200) }),
      run("b1", "bash-gaming", "completed", { parentRunId: "v1", usage: tokens(2500) }),
      run("v2", "verify", "completed", { parentRunId: "c2", resumedFrom: "v1.end", usage: tokens(300) }),
      run("c3", "create-expert", "completed", { resumedFrom: "c2.end", usage: tokens(1600) }),
    ]
    const tree = buildRunTree(
      runs,
      stats(runs, {
        c1: { query: "Form a team named bash-gaming" },
        p1: { query: "Create a team", steps: 3 },
        v1: { query: "Verify\nit" },
        b1: { query: "x".repeat(80) },
      }),
    )
    expect(renderRunTree(tree)).toEqual([
      '⎇ create-expert "Form a team named bash-gaming" · 1 step · 1k tokens · c1',
      "| \\",
      '| ✓ plan "Create a team" · 3 steps · 500 tokens · p1',
      "| /",
      "⎇ create-expert (resumed) · 1 step · 500 tokens · c2",
      "| \\",
      '| ⎇ verify "Verify it" · 1 step · 200 tokens · v1',
      "| | \\",
      `| | ✓ bash-gaming "${"x".repeat(59)}…" · 1 step · 2.5k tokens · b1`,
      "| | /",
      "| ✓ verify (resumed) · 1 step · 100 tokens · v2",
      "| /",
      "✓ create-expert (resumed) · 1 step · 100 tokens · c3",
    ])
  })

  it("keeps a conversation's segments together among parallel siblings, conversations in start order", () => {
    clock = 0
    const runs = [
      run("lead", "lead", "stoppedByDelegate"),
      run("d1", "designer", "stoppedByDelegate", { parentRunId: "lead" }),
      run("prog", "programmer", "stoppedByError", {
        parentRunId: "lead",
        error: { name: "ProviderError", message: "401 invalid key", isRetryable: false },
      }),
      run("art", "artist", "completed", { parentRunId: "d1" }),
      run("d2", "designer", "completed", { parentRunId: "lead", resumedFrom: "d1.end" }),
    ]
    const lines = renderRunTree(buildRunTree(runs, stats(runs))).map((line) =>
      line.replace(/ · \d+ tokens/, ""),
    )
    expect(lines).toEqual([
      "⏸ lead · 1 step · waiting for delegates · lead",
      "| \\",
      "| ⎇ designer · 1 step · d1",
      "| | \\",
      "| | ✓ artist · 1 step · art",
      "| | /",
      "| ✓ designer (resumed) · 1 step · d2",
      "| ✗ programmer · 1 step · error: 401 invalid key · prog",
      "| /",
    ])
  })

  it("marks every status, and what a later segment changed", () => {
    clock = 0
    const runs = [
      run("a", "asker", "stoppedByInteractiveTool"),
      run("b", "asker", "completed", { resumedFrom: "a.end" }),
      run("c", "asker", "stoppedByInteractiveTool", { resumedFrom: "b.end" }),
      run("w", "worker", "proceeding"),
      run("m", "worker", "stoppedByExceededMaxSteps"),
      run("s", "worker", "stoppedByCancel"),
    ]
    expect(renderRunTree(buildRunTree(runs, stats(runs))).map((line) => line.split(" · ")[0])).toEqual([
      "? asker",
      "✓ asker (resumed)",
      "? asker (resumed)",
      "● worker",
      "⊘ worker",
      "■ worker",
    ])
    expect(renderRunTree(buildRunTree(runs, stats(runs)))[2]).toContain("waiting for the user")
    expect(renderRunTree(buildRunTree(runs, stats(runs)))[0]).not.toContain("waiting")
  })

  it("shows a run whose parent is missing at the top rather than losing it, and a segment's own tokens", () => {
    clock = 0
    const runs = [
      run("orphan", "worker", "completed", { parentRunId: "gone", usage: tokens(10) }),
      // resumed from an earlier checkpoint (--resume-from): its tokens start from that checkpoint's
      run("again", "worker", "completed", { resumedFrom: "cp-3", usage: tokens(1200) }),
    ]
    const tree = buildRunTree(runs, stats(runs), new Map([["cp-3", tokens(1000)]]))
    expect(tree.map((node) => [node.runId, node.usage.totalTokens, node.resumed])).toEqual([
      ["orphan", 10, false],
      ["again", 200, true],
    ])
  })
  it("asks the store only for the checkpoints resumed from that no segment ended", () => {
    clock = 0
    const runs = [
      run("a", "worker", "stoppedByDelegate"),
      run("b", "worker", "completed", { resumedFrom: "a.end" }),
      run("c", "worker", "completed", { resumedFrom: "cp-3" }),
    ]
    expect(resumePointsWithoutRun(runs)).toEqual(["cp-3"])
  })
})
