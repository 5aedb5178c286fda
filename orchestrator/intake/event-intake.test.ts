import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import {
  perstackEventSchema,
  type SandboxEvent,
  sandboxEventSchema,
} from "../../runtime/protocol/events/index.ts"
import { type IntakeItem, newIntakeCounts, readSandboxEvents } from "./event-intake.ts"
import { outputRejectedEvent } from "./output-rejected.ts"

const expected = { jobId: "job_intake", runId: "run_intake" }
const fixture = path.join(import.meta.dirname, "../../runtime/protocol/fixtures/v2/events.ndjson")
const stored = readFileSync(fixture, "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Record<string, unknown>)
/** The frozen fixture's sandbox events, as this sandbox's run would print them. */
const events: SandboxEvent[] = stored
  .filter((event) => sandboxEventSchema.safeParse(event).success)
  .map((event) => sandboxEventSchema.parse({ ...event, ...expected }))
const storedOfType = (type: string) => {
  const event = stored.find((candidate) => candidate.type === type)
  if (!event) throw new Error(`no ${type} in the fixture`)
  return event
}
const reasoning = (delta: string, id = "ev_r"): SandboxEvent =>
  sandboxEventSchema.parse({ ...storedOfType("streamReasoning"), ...expected, id, delta })

const ndjson = (values: unknown[]) => values.map((value) => `${JSON.stringify(value)}\n`).join("")
const encoder = new TextEncoder()

async function* chunks(data: string | Uint8Array, size = 65536): AsyncGenerator<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size)
}

async function read(source: AsyncIterable<Uint8Array>, options: { maxLineBytes?: number } = {}) {
  const counts = newIntakeCounts()
  const items: IntakeItem[] = []
  for await (const item of readSandboxEvents(source, { expect: expected, counts, ...options }))
    items.push(item)
  return { items, counts }
}
const rejected = (items: IntakeItem[]) => items.flatMap((item) => (item.kind === "rejected" ? [item] : []))
const accepted = (items: IntakeItem[]) => items.flatMap((item) => (item.kind === "event" ? [item.event] : []))

describe("readSandboxEvents", () => {
  it("accepts every sandbox event of the frozen v2 fixture, in order, with line numbers", async () => {
    expect(events.length).toBeGreaterThanOrEqual(30)
    const { items, counts } = await read(chunks(ndjson(events)))
    expect(accepted(items)).toEqual(events)
    expect(items.map((item) => item.lineNumber)).toEqual(events.map((_, index) => index + 1))
    const first = items[0]
    expect(first?.kind === "event" && JSON.parse(first.text)).toEqual(events[0])
    expect(counts).toEqual({
      lines: events.length,
      events: events.length,
      rejected: 0,
      bytes: Buffer.byteLength(ndjson(events)),
    })
  })

  it("gives the same events however stdout is chunked, even one byte at a time mid character", async () => {
    const stream = [...events, reasoning("日本語の推論 🏋️‍♀️ ünïcödé 𝄞", "ev_mb")]
    const whole = await read(chunks(ndjson(stream)))
    expect(accepted(whole.items)).toHaveLength(stream.length)
    for (const size of [1, 2, 3, 13]) expect(await read(chunks(ndjson(stream), size))).toEqual(whole)
  })

  it("reads \\r\\n line ends, blank lines and a last line without a newline", async () => {
    const [a, b, c] = [reasoning("a", "ev_a"), reasoning("b", "ev_b"), reasoning("c", "ev_c")]
    const text = `${JSON.stringify(a)}\r\n\r\n\n${JSON.stringify(b)}\r\n${JSON.stringify(c)}`
    const { items, counts } = await read(chunks(text, 5))
    expect(accepted(items)).toEqual([a, b, c])
    expect(items.map((item) => item.lineNumber)).toEqual([1, 4, 5])
    expect(counts.lines).toBe(3)
  })

  it("turns each bad line into a rejection with a sample, and keeps every event around them in order", async () => {
    const other = { ...events[0], runId: "run_someone_else" }
    const otherJob = { ...events[0], jobId: "job_other" }
    const orchestratorOnly = { ...storedOfType("sandboxStarted"), ...expected }
    const missing = { ...reasoning("x"), stepNumber: "one" }
    const extraKey = { ...reasoning("x"), sneaky: true }
    const parts: (string | Uint8Array)[] = [
      ndjson([reasoning("before", "ev_1")]),
      "this is not json at all\n",
      "[1,2,3]\n",
      '{"hello":"world"}\n',
      ndjson([other, otherJob, orchestratorOnly, missing, extraKey]),
      Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"\xff\xfe"} : not UTF-8
      `{"truncated":\n`,
      ndjson([reasoning("after", "ev_2")]),
    ]
    const bytes = Buffer.concat(parts.map((part) => (typeof part === "string" ? encoder.encode(part) : part)))
    const { items, counts } = await read(chunks(bytes, 7))

    expect(accepted(items).map((event) => event.id)).toEqual(["ev_1", "ev_2"])
    expect(items.at(0)?.lineNumber).toBe(1)
    expect(items.at(-1)?.lineNumber).toBe(12)
    const summary = rejected(items).map(({ reason, issues, lineNumber }) => ({ reason, issues, lineNumber }))
    expect(summary).toEqual([
      { reason: "notJson", issues: undefined, lineNumber: 2 },
      { reason: "invalidEvent", issues: "(event): expected an object, got an array", lineNumber: 3 },
      {
        reason: "invalidEvent",
        issues: "type: expected an event type (a string), got undefined",
        lineNumber: 4,
      },
      {
        reason: "invalidEvent",
        issues: `runId: expected "run_intake" (this sandbox's run), got "run_someone_else"`,
        lineNumber: 5,
      },
      {
        reason: "invalidEvent",
        issues: `jobId: expected "job_intake" (this sandbox's run), got "job_other"`,
        lineNumber: 6,
      },
      {
        reason: "invalidEvent",
        issues: 'type: "sandboxStarted" is written by the orchestrator, never by a sandbox',
        lineNumber: 7,
      },
      { reason: "invalidEvent", issues: expect.stringMatching(/^stepNumber: .*number/), lineNumber: 8 },
      { reason: "invalidEvent", issues: expect.stringContaining("sneaky"), lineNumber: 9 },
      { reason: "notUtf8", issues: undefined, lineNumber: 10 },
      { reason: "notJson", issues: undefined, lineNumber: 11 },
    ])
    const samples = rejected(items).map((item) => item.sample)
    expect(samples.slice(0, 4)).toEqual([
      "this is not json at all",
      "[1,2,3]",
      '{"hello":"world"}',
      JSON.stringify(other),
    ])
    expect(samples[8]).toBe('{"\uFFFD\uFFFD"}')
    expect(rejected(items).every((item) => item.byteLength > 0)).toBe(true)
    expect(counts).toEqual({ lines: 12, events: 2, rejected: 10, bytes: bytes.length })
  })

  it("rejects an unknown event type by name", async () => {
    const { items } = await read(chunks(ndjson([{ ...reasoning("x"), type: "streamPoetry" }])))
    expect(rejected(items)[0]?.issues).toBe('type: unknown event type "streamPoetry"')
  })

  it("lets a 10 MB event through and its neighbours too", async () => {
    const big = sandboxEventSchema.parse({
      ...storedOfType("resolveToolResults"),
      ...expected,
      toolResults: [
        {
          id: "call_big",
          skillName: "@perstack/base",
          toolName: "readTextFile",
          result: [{ type: "textPart", id: "p_big", text: "ä lot of text\n".repeat(700_000) }],
        },
      ],
    })
    const stream = [reasoning("a", "ev_a"), big, reasoning("b", "ev_b")]
    const { items } = await read(chunks(ndjson(stream)))
    expect(accepted(items)).toEqual(stream)
    expect(items[1]?.byteLength).toBeGreaterThan(10_000_000)
  })

  it("rejects a line over the cap as lineTooLong and goes on, without holding it", async () => {
    async function* garbage() {
      yield encoder.encode(ndjson([reasoning("a", "ev_a")]))
      const block = new Uint8Array(65536).fill(0x41)
      for (let i = 0; i < 800; i++) yield block // 50 MiB with no newline
      yield encoder.encode(`\n${ndjson([reasoning("b", "ev_b")])}`)
    }
    const { items } = await read(garbage())
    expect(accepted(items).map((event) => event.id)).toEqual(["ev_a", "ev_b"])
    const [tooLong] = rejected(items)
    expect(tooLong).toEqual({
      kind: "rejected",
      reason: "lineTooLong",
      sample: "A".repeat(512),
      byteLength: 800 * 65536,
      lineNumber: 2,
    })
  })

  it("applies a smaller cap when asked", async () => {
    const line = ndjson([reasoning("x".repeat(300))])
    const { items } = await read(chunks(line, 64), { maxLineBytes: 200 })
    expect(rejected(items)[0]).toMatchObject({ reason: "lineTooLong", byteLength: line.length - 1 })
    expect(rejected(items)[0]?.sample).toBe(line.slice(0, 200))
  })

  it("refuses a stream that was given an encoding, rather than frame decoded text", async () => {
    async function* text() {
      yield "{}\n" as unknown as Uint8Array
    }
    await expect(read(text())).rejects.toThrow(/encoding/)
  })

  it("keeps the sample valid text when the cap cuts a character in two", async () => {
    const line = `"${"é".repeat(400)}"\n` // not an event; 801 bytes
    const { items } = await read(chunks(line, 3))
    const sample = rejected(items)[0]?.sample ?? ""
    expect(sample).toBe(`"${"é".repeat(255)}`)
    expect(sample).not.toContain("\uFFFD")
  })
})

describe("the type dispatch", () => {
  it("accepts and rejects exactly what the protocol's union does", async () => {
    const variants = events.flatMap((event) => {
      const { id: _id, ...withoutId } = event
      return [
        event,
        withoutId,
        { ...event, extra: 1 },
        { ...event, type: "streamReasoning" },
        { ...event, id: "" },
      ]
    })
    const { items } = await read(chunks(ndjson(variants)))
    expect(items.map((item) => item.kind === "event")).toEqual(
      variants.map((variant) => sandboxEventSchema.safeParse(variant).success),
    )
    expect(items.filter((item) => item.kind === "event").length).toBeGreaterThan(events.length)
  })
})

describe("outputRejectedEvent", () => {
  it("makes a protocol event of a rejection, with the caller's id and clock", async () => {
    const { items } = await read(chunks('{"type":"sandboxStarted"}\n'))
    const [item] = rejected(items)
    if (!item) throw new Error("expected a rejection")
    const event = outputRejectedEvent(item, { ...expected, id: "ev_rej", timestamp: 1 })
    expect(perstackEventSchema.parse(event)).toEqual({
      protocolVersion: 2,
      id: "ev_rej",
      type: "outputRejected",
      timestamp: 1,
      ...expected,
      reason: "invalidEvent",
      sample: '{"type":"sandboxStarted"}',
      byteLength: 25,
      issues: 'type: "sandboxStarted" is written by the orchestrator, never by a sandbox',
    })
  })
})

describe("backpressure", () => {
  it("reads stdout only as fast as items are taken", async () => {
    let pulled = 0
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++
        yield encoder.encode(ndjson([reasoning(`delta ${i}`, `ev_${i}`)]))
      }
    }
    const items = readSandboxEvents(source(), { expect: expected })
    await items.next()
    await items.next()
    expect(pulled).toBe(2)
    await items.return(undefined)
  })
})
