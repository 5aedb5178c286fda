import { describe, expect, it } from "vitest"
import { buildMatcher } from "./event-matcher.ts"
import { type Entry, EventSelection, type SelectionOptions } from "./event-selection.ts"
import { parseFilterExpression } from "./filter-expression.ts"
import { LogLine } from "./log-line.ts"

let clock = 0
const line = (runId: string, type: string, fields: Record<string, unknown> = {}, lineNumber = 1) =>
  new LogLine({
    runId,
    file: `runs/${runId}/events.ndjson`,
    bytes: Buffer.from(
      JSON.stringify({
        protocolVersion: 1,
        id: `e${clock}`,
        timestamp: clock++,
        jobId: "j",
        runId,
        type,
        expertKey: "x",
        stepNumber: 1,
        ...fields,
      }),
    ),
    lineNumber,
    fallbackTimestamp: 0,
  })

function select(lines: LogLine[], options: Partial<SelectionOptions> = {}) {
  const entries: Entry[] = []
  const selection = new EventSelection({
    take: 100,
    offset: 0,
    context: 0,
    foldDeltas: false,
    ...options,
    onEntry: (entry) => entries.push(entry),
  })
  for (const each of lines) selection.push(each)
  selection.end()
  const shown = entries.map((entry) =>
    entry.kind === "fold"
      ? `${entry.match ? "" : "~"}${entry.fold.runId}:${entry.fold.type}×${entry.fold.count}:${entry.fold.preview}`
      : `${entry.match ? "" : "~"}${(entry.line.value() as { id: string }).id}`,
  )
  return { entries, shown, selection }
}

const ten = () => {
  clock = 0
  return Array.from({ length: 10 }, (_, i) =>
    line("r", i % 2 === 0 ? "callTools" : "resolveToolResults", { n: i }),
  )
}
const byN =
  (...ns: number[]) =>
  (l: LogLine) =>
    ns.includes((l.value() as { n: number }).n)

describe("EventSelection", () => {
  it("pages through the matches: --offset skips, --take keeps, and the count covers them all", () => {
    const { shown, selection } = select(ten(), { offset: 2, take: 3 })
    expect(shown).toEqual(["e2", "e3", "e4"])
    expect([selection.matchedEntries, selection.shownMatches]).toEqual([10, 3])
    expect(select(ten(), { take: 0 }).shown).toHaveLength(10)
    expect(select(ten(), { offset: 20 }).shown).toEqual([])
  })

  it("selects by kind and counts what it matched", () => {
    const { shown, selection } = select(ten(), {
      matcher: buildMatcher({ types: ["resolveToolResults"] }),
      take: 2,
    })
    expect(shown).toEqual(["e1", "e3"])
    expect(selection.matchedEntries).toBe(5)
    expect(selection.summary.result()).toMatchObject({
      totalEvents: 5,
      toolCallCount: 5,
      stepRange: { min: 1, max: 1 },
    })
  })

  it("adds --context neighbours around the matches on the page, once each, marked as context", () => {
    const { entries, shown } = select(ten(), { matcher: byN(4, 6, 9), context: 1 })
    expect(shown).toEqual(["~e3", "e4", "~e5", "e6", "~e7", "~e8", "e9"])
    // seq tells the view where the gaps are
    expect(entries.map((entry) => entry.seq)).toEqual([3, 4, 5, 6, 7, 8, 9])
    const wide = select(ten(), { matcher: byN(1, 8), context: 2 })
    expect(wide.shown).toEqual(["~e0", "e1", "~e2", "~e3", "~e6", "~e7", "e8", "~e9"])
  })

  it("applies context after pagination: a match off the page can still show as a neighbour", () => {
    const { shown } = select(ten(), { matcher: byN(4, 5), take: 1, context: 1 })
    expect(shown).toEqual(["~e3", "e4", "~e5"])
  })

  it("folds each run's streaming deltas into one entry per stream, even when runs interleave", () => {
    clock = 0
    const lines = [
      line("a", "startStreamingReasoning"),
      line("a", "streamReasoning", { delta: "Think " }),
      line("b", "streamRunResult", { delta: "Ans" }),
      line("a", "streamReasoning", { delta: "harder" }),
      line("b", "streamRunResult", { delta: "wer" }),
      line("a", "completeStreamingReasoning", { text: "Think harder" }),
      line("a", "streamReasoning", { delta: "again", stepNumber: 2 }),
      line("a", "streamReasoning", { delta: "!", stepNumber: 3 }),
    ]
    const { shown, selection } = select(lines, { foldDeltas: true })
    // a stream closes at its run's next event; the log's end closes the rest, in the order they began
    expect(shown).toEqual([
      "e0",
      "a:streamReasoning×2:Think harder",
      "e5",
      "a:streamReasoning×1:again",
      "b:streamRunResult×2:Answer",
      "a:streamReasoning×1:!",
    ])
    expect(selection.matchedEntries).toBe(6)
    expect(selection.summary.result().totalEvents).toBe(8)
    // not folded: every delta is its own entry
    expect(select(lines).shown).toHaveLength(8)
  })

  it("shows a stream when any of its deltas matches", () => {
    clock = 0
    const lines = [
      line("a", "streamReasoning", { delta: "x" }),
      line("a", "streamReasoning", { delta: "needle" }),
      line("a", "completeRun"),
    ]
    const matcher = buildMatcher({ filter: parseFilterExpression('.delta == "needle"') })
    expect(select(lines, { foldDeltas: true, ...(matcher ? { matcher } : {}) }).shown).toEqual([
      "a:streamReasoning×2:xneedle",
    ])
  })
})
