import { describe, expect, it } from "vitest"
import { inStepRange, parseStepRange } from "./step-range.ts"

describe("parseStepRange", () => {
  it.each([
    ["5", { min: 5, max: 5 }],
    [" 5 ", { min: 5, max: 5 }],
    [">5", { min: 6, max: Number.POSITIVE_INFINITY }],
    [">=5", { min: 5, max: Number.POSITIVE_INFINITY }],
    ["<5", { min: 0, max: 4 }],
    ["<=5", { min: 0, max: 5 }],
    ["1-10", { min: 1, max: 10 }],
    ["1 - 10", { min: 1, max: 10 }],
    ["7-7", { min: 7, max: 7 }],
  ])("reads %j", (expression, range) => {
    expect(parseStepRange(expression)).toEqual(range)
  })

  it.each(["", "x", "5-", "-5", ">", "=>5", "1-2-3", "1.5", ">= five", "10-1"])(
    "refuses %j, naming it",
    (expression) => {
      expect(() => parseStepRange(expression)).toThrow(`--step ${JSON.stringify(expression)}`)
    },
  )

  it("says what a backwards range is", () => {
    expect(() => parseStepRange("10-1")).toThrow("the range starts after it ends (10 > 1)")
  })

  it("matches step numbers, and never an event without one", () => {
    const range = parseStepRange("2-4")
    expect([1, 2, 3, 4, 5].filter((step) => inStepRange(step, range))).toEqual([2, 3, 4])
    expect(inStepRange(undefined, parseStepRange(">=0"))).toBe(false)
  })
})
