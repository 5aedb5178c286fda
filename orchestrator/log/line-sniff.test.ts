import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { sniffEnvelope } from "./line-sniff.ts"

const sniff = (text: string) => ({ ...sniffEnvelope(Buffer.from(text)) })
const fixture = path.join(import.meta.dirname, "../../runtime/protocol/fixtures/v1/events.ndjson")

describe("sniffEnvelope", () => {
  it("reads the envelope of our events without parsing them", () => {
    expect(
      sniff(
        '{"protocolVersion":1,"id":"e1","timestamp":1763700000060,"jobId":"j","runId":"r","type":"startRun","expertKey":"lead","stepNumber":1,"initialCheckpoint":{"type":"x"}}',
      ),
    ).toEqual({ type: "startRun", timestamp: 1763700000060, stepNumber: 1, complete: false })
    // the orchestrator's own events: a flat object, so what is not there is known to be absent
    expect(
      sniff(
        '{"protocolVersion":1,"jobId":"j","runId":"r","id":"e2","timestamp":5,"type":"sandboxExited","exitCode":null,"reason":"completed"}',
      ),
    ).toEqual({
      type: "sandboxExited",
      timestamp: 5,
      stepNumber: undefined,
      complete: true,
    })
  })

  it("says nothing it cannot prove", () => {
    // a nested value before the type: that "type" may not be the event's
    expect(sniff('{"payload":{"type":"completeRun"},"type":"retry"}')).toMatchObject({
      type: undefined,
      complete: false,
    })
    expect(sniff('{"list":[1],"type":"retry"}')).toMatchObject({ type: undefined, complete: false })
    // escapes, fractions, negatives, whitespace: left to JSON.parse
    expect(sniff('{"type":"re\\u0074ry"}')).toMatchObject({ type: undefined, complete: false })
    expect(sniff('{"timestamp":1.5,"type":"retry"}')).toMatchObject({ timestamp: undefined, complete: false })
    expect(sniff('{"stepNumber":-1}')).toMatchObject({ stepNumber: undefined, complete: false })
    expect(sniff('{ "type": "retry" }')).toMatchObject({ type: undefined, complete: false })
    expect(sniff('{"timestamp":12345678901234567890}')).toMatchObject({
      timestamp: undefined,
      complete: false,
    })
    expect(sniff("not json")).toMatchObject({ type: undefined, complete: false })
    expect(sniff('{"type":"unterminated')).toMatchObject({ type: undefined, complete: false })
  })

  it("reads a type the protocol does not know as it is", () => {
    expect(sniff('{"type":"streamPoetry"}')).toMatchObject({ type: "streamPoetry", complete: true })
  })

  it("agrees with JSON.parse on every line of the frozen v1 fixture", () => {
    const lines = readFileSync(fixture, "utf8").split("\n").filter(Boolean)
    expect(lines.length).toBeGreaterThan(30)
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>
      const sniffed = sniff(line)
      for (const key of ["type", "timestamp", "stepNumber"] as const) {
        if (sniffed[key] !== undefined) expect(sniffed[key], `${key} of ${parsed.type}`).toBe(parsed[key])
        else if (sniffed.complete) expect(parsed[key], `${key} of ${parsed.type}`).toBeUndefined()
      }
      expect(sniffed.type, "every fixture line is answered without parsing").toBe(parsed.type)
    }
  })
})
