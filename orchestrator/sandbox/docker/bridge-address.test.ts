import { describe, expect, it } from "vitest"
import { firstHost } from "./bridge-address.ts"

describe("firstHost", () => {
  it("gives the bridge's own address from its subnet, and nothing for what is not an IPv4 subnet", () => {
    expect(firstHost("172.17.0.0/16")).toBe("172.17.0.1")
    expect(firstHost("10.200.3.128/25")).toBe("10.200.3.129")
    expect(firstHost("192.168.1.77/24")).toBe("192.168.1.1")
    expect(firstHost("fd00::/64")).toBeUndefined()
    expect(firstHost("10.0.0.0/31")).toBeUndefined()
  })
})
