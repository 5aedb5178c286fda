import { describe, expect, it } from "vitest"
import { warmPoolSize } from "./warm-pool-size.ts"

describe("a warm pool's size from its variable", () => {
  it("defaults to 4, takes 0 to turn the pool off, and refuses anything else naming the variable", () => {
    expect(warmPoolSize("PERSTACK_LOCAL_WARM_POOL", undefined)).toBe(4)
    expect(warmPoolSize("PERSTACK_LOCAL_WARM_POOL", "")).toBe(4)
    expect(warmPoolSize("PERSTACK_LOCAL_WARM_POOL", "0")).toBe(0)
    expect(() => warmPoolSize("PERSTACK_LOCAL_WARM_POOL", "-1")).toThrow(
      'PERSTACK_LOCAL_WARM_POOL="-1": expected a whole number, 0 or more',
    )
  })
})
