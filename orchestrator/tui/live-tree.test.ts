import { render } from "ink-testing-library"
import { createElement } from "react"
import { describe, expect, it } from "vitest"
import { contextFigure, statusLine, tokenLine } from "./figures.ts"
import { initialLiveState, type LiveNode, type LiveState } from "./live-state.ts"
import { LiveTree } from "./live-tree.tsx"
import { StatusPanel } from "./status-panel.tsx"

const node = (id: string, fields: Partial<LiveNode>): LiveNode => ({
  id,
  runId: id,
  expertKey: id,
  resumed: false,
  state: "running",
  activity: "Generating",
  children: [],
  ...fields,
})

function teamState(): LiveState {
  return {
    ...initialLiveState("Form a team named bash-gaming"),
    roots: ["lead"],
    nodes: {
      lead: node("lead", {
        expertKey: "create-expert",
        state: "waitingForDelegates",
        activity: "Waiting for delegates",
        model: "kimi-k2p5",
        contextUsage: 0.024,
        resumed: true,
        children: ["verify"],
      }),
      verify: node("verify", {
        expertKey: "@create-expert/verify",
        parentId: "lead",
        model: "kimi-k2p5",
        contextUsage: 0.112,
        activity: "Streaming reasoning",
        children: ["done", "bad"],
      }),
      done: node("done", {
        expertKey: "@create-expert/plan",
        parentId: "verify",
        state: "completed",
        activity: "Completed",
      }),
      bad: node("bad", {
        expertKey: "@create-expert/write",
        parentId: "verify",
        state: "failed",
        activity: "Failed: boom",
      }),
    },
    segmentUsage: {
      lead: {
        inputTokens: 2_000_000,
        cachedInputTokens: 1_500_000,
        outputTokens: 40_000,
        reasoningTokens: 0,
        totalTokens: 2_040_000,
      },
      verify: {
        inputTokens: 900_000,
        cachedInputTokens: 600_000,
        outputTokens: 6_200,
        reasoningTokens: 0,
        totalTokens: 906_200,
      },
    },
  }
}

describe("the live tree and the token figures", () => {
  it("draws each conversation under its parent with its state, model and context usage", () => {
    const { lastFrame } = render(createElement(LiveTree, { state: teamState(), frame: 0 }))
    expect(lastFrame()?.split("\n")).toEqual([
      "⏸ create-expert (resumed) · kimi-k2p5 · ○ 2.4% · Waiting for delegates",
      "└ ⠋ @create-expert/verify · kimi-k2p5 · ◔ 11.2% · Streaming reasoning",
      "  └ ✓ @create-expert/plan · Completed",
      "  └ ✗ @create-expert/write · Failed: boom",
    ])
  })

  it("shows the query, what runs and waits, the time and provider, and the tokens with the cache hit rate", () => {
    const { lastFrame } = render(
      createElement(StatusPanel, {
        state: teamState(),
        elapsedMs: 246_000,
        provider: "fireworks",
        width: 40,
      }),
    )
    expect(lastFrame()?.split("\n").slice(1)).toEqual([
      "Query: Form a team named bash-gaming",
      "1 running · 1 waiting · 4m 06s · fireworks",
      "Tokens: In 2.9M (Cached 2.1M, Cache Hit 72.41%) · Out 46.2k",
    ])
  })

  it("formats the figures", () => {
    expect(
      tokenLine({
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: 0,
        reasoningTokens: 0,
        totalTokens: 0,
      }),
    ).toBe("Tokens: In 0 (Cached 0, Cache Hit 0.00%) · Out 0")
    expect(statusLine({ running: 0, waiting: 0, elapsedMs: 42_900 })).toBe("0 running · 0 waiting · 42s")
    expect([0, 0.2, 0.5, 0.7, 0.99].map(contextFigure)).toEqual([
      "○ 0.0%",
      "◔ 20.0%",
      "◑ 50.0%",
      "◕ 70.0%",
      "● 99.0%",
    ])
  })
})
