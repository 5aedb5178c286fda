// Vitest setup: a unit test fails if it writes to stdout. In a sandbox stdout is the protocol; nothing else may use it.
import { afterEach, beforeEach, expect } from "vitest"

let written: string[] = []
const originalWrite = process.stdout.write.bind(process.stdout)

beforeEach(() => {
  written = []
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))
    return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stdout.write
})

afterEach(() => {
  process.stdout.write = originalWrite
  expect(written, "a test wrote to process.stdout: stdout is reserved for protocol events").toEqual([])
})
