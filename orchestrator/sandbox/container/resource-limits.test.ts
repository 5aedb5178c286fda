import { describe, expect, it } from "vitest"
import { DEFAULT_LIMITS, memoryBytes, resolveLimits } from "./resource-limits.ts"

describe("memoryBytes", () => {
  it("reads the sizes perstack.toml accepts, in binary units", () => {
    expect(memoryBytes("512m")).toBe(512 * 1024 ** 2)
    expect(memoryBytes("512Mi")).toBe(512 * 1024 ** 2)
    expect(memoryBytes("2g")).toBe(2 * 1024 ** 3)
    expect(memoryBytes("1.5Gi")).toBe(1.5 * 1024 ** 3)
    expect(memoryBytes("2GB")).toBe(2 * 1024 ** 3)
    expect(memoryBytes("64k")).toBe(64 * 1024)
    expect(memoryBytes("1000b")).toBe(1000)
    expect(memoryBytes("1000")).toBe(1000)
    expect(memoryBytes(4096)).toBe(4096)
  })

  it("names a size it cannot read", () => {
    expect(() => memoryBytes("lots")).toThrow(/not a memory size: "lots"/)
  })
})

describe("resolveLimits", () => {
  it("takes cpus and memory from the Expert's sandbox table, the rest from the defaults", () => {
    expect(resolveLimits(undefined)).toEqual(DEFAULT_LIMITS)
    expect(resolveLimits({ cpus: 0.5, memory: "256m" })).toEqual({
      ...DEFAULT_LIMITS,
      cpus: 0.5,
      memoryBytes: 256 * 1024 ** 2,
    })
  })
})
