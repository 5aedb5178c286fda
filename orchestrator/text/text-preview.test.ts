import { describe, expect, it } from "vitest"
import { clockTime, compact, count, dateTime, duration, oneLine, plural, quote } from "./text-preview.ts"

describe("text previews", () => {
  it("puts text on one line, cut with an ellipsis, never halving a surrogate pair", () => {
    expect(oneLine("  a\n\tb  ", 10)).toBe("a b")
    expect(oneLine("abcdef", 4)).toBe("abc…")
    expect(oneLine("ab𝄞cd", 4)).toBe("ab…")
    expect(quote("x\ny", 10)).toBe('"x y"')
  })

  it("formats counts, sizes and times", () => {
    expect([count(1234567), plural(1, "step"), plural(2, "step")]).toEqual(["1,234,567", "1 step", "2 steps"])
    expect([950, 1000, 12_345, 123_456, 4_500_000].map(compact)).toEqual([
      "950",
      "1k",
      "12.3k",
      "123k",
      "4.5M",
    ])
    expect([850, 12_340, 246_000, 7_380_000].map(duration)).toEqual(["850 ms", "12.3 s", "4m 06s", "2h 03m"])
    expect(clockTime(Date.UTC(2026, 10, 21, 20, 43, 49, 477))).toBe("20:43:49.477")
    expect(dateTime(Date.UTC(2026, 10, 21, 20, 43, 49))).toBe("2026-11-21 20:43:49Z")
  })
})
