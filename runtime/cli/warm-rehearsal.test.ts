import { readdir } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { makeWorkspace } from "../testing/run-harness.ts"
import { rehearse } from "./warm-rehearsal.ts"

describe("a warm sandbox's rehearsal", () => {
  it("plays a delegation and its resume without printing anything or touching the workspace", async () => {
    await using ws = await makeWorkspace()
    const before = await readdir(ws.dir)
    // The test guard fails a runtime test that writes to stdout.
    expect(await rehearse(ws.dir, new AbortController().signal)).toBe("rehearsed")
    expect(await readdir(ws.dir)).toEqual(before)
  })

  it("stops at once when its run has arrived, and never throws", async () => {
    await using ws = await makeWorkspace()
    const arrived = new AbortController()
    arrived.abort()
    expect(await rehearse(ws.dir, arrived.signal)).toBe("stopped")
    expect(await rehearse("/nonexistent/workspace", new AbortController().signal)).toBe("failed")
  })
})
