import { describe, expect, it } from "vitest"
import { segmentUsage } from "./segment-usage.ts"

describe("a segment's own tokens", () => {
  it("is the usage where it stopped less where it started, never below zero", () => {
    const start = {
      inputTokens: 100,
      outputTokens: 10,
      reasoningTokens: 0,
      totalTokens: 110,
      cachedInputTokens: 50,
    }
    const end = {
      inputTokens: 250,
      outputTokens: 30,
      reasoningTokens: 5,
      totalTokens: 285,
      cachedInputTokens: 40,
    }
    expect(segmentUsage(end, start)).toEqual({
      inputTokens: 150,
      outputTokens: 20,
      reasoningTokens: 5,
      totalTokens: 175,
      cachedInputTokens: 0,
    })
  })
})
