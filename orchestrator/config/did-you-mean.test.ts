import { describe, expect, it } from "vitest"
import { suggest } from "./did-you-mean.ts"

describe("suggest", () => {
  it("finds typos: a missing letter, a swap, a wrong case", () => {
    expect(suggest("delgates", ["delegates", "description"])).toBe("delegates")
    expect(suggest("modle", ["model", "maxSteps"])).toBe("model")
    expect(suggest("Instruction", ["instruction"])).toBe("instruction")
  })

  it("stays quiet when nothing is close", () => {
    expect(suggest("frobnicate", ["model", "provider", "experts"])).toBeUndefined()
    expect(suggest("x", [])).toBeUndefined()
  })
})
