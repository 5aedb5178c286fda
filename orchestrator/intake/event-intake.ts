// The orchestrator's intake of a sandbox's stdout: every line framed, decoded and validated against the
// protocol; a bad line becomes a rejection record and the stream goes on.
import type { z } from "zod"
import { type SandboxEvent, sandboxEventSchema } from "../../runtime/protocol/events/index.ts"
import {
  orchestratorEventSchemas,
  type outputRejectedEventSchema,
} from "../../runtime/protocol/events/orchestrator.ts"
import { DEFAULT_SAMPLE_BYTES, type FramedLine, LineFramer } from "../ndjson/line-framer.ts"
import { formatIssues, sampleText } from "./rejection-text.ts"

export type RejectionReason = z.infer<typeof outputRejectedEventSchema>["reason"]

export type IntakeItem =
  | {
      kind: "event"
      event: SandboxEvent
      /** the line exactly as received (valid UTF-8, no newline): append it as is instead of re-serialising */
      text: string
      lineNumber: number
      byteLength: number
    }
  | {
      kind: "rejected"
      reason: RejectionReason
      /** the start of the line, at most `sampleBytes` bytes, always valid text */
      sample: string
      byteLength: number
      /** for invalidEvent: what the schema expected, with key paths, short */
      issues?: string
      lineNumber: number
    }
export type RejectedItem = Extract<IntakeItem, { kind: "rejected" }>

/** Filled in while the stream is read; read it at any time, or after the loop. */
export interface IntakeCounts {
  /** non-empty lines */
  lines: number
  events: number
  rejected: number
  /** every byte read from the source, newlines and empty lines included */
  bytes: number
}

export const newIntakeCounts = (): IntakeCounts => ({ lines: 0, events: 0, rejected: 0, bytes: 0 })

export interface ReadSandboxEventsOptions {
  /** the run this sandbox runs: an event naming another job or run is rejected (a sandbox must not speak for others) */
  expect: { jobId: string; runId: string }
  /** default 32 MiB */
  maxLineBytes?: number
  /** how much of a rejected line is kept as its sample (default 512) */
  sampleBytes?: number
  /** updated as items are yielded */
  counts?: IntakeCounts
}

// Dispatch on `type` to the one member schema: the same check as the whole union, done once.
const memberSchemas: ReadonlyMap<string, z.ZodType<SandboxEvent>> = new Map(
  sandboxEventSchema.options.map((schema) => [schema.shape.type.value, schema]),
)
const orchestratorTypes: ReadonlySet<string> = new Set(
  orchestratorEventSchemas.map((schema) => schema.shape.type.value),
)
const fatal = new TextDecoder("utf-8", { fatal: true })

type Expected = ReadSandboxEventsOptions["expect"]

function validateLine(line: FramedLine, expect: Expected, sampleBytes: number): IntakeItem {
  const { bytes, byteLength, lineNumber } = line
  const reject = (reason: RejectionReason, issues?: string): RejectedItem => ({
    kind: "rejected",
    reason,
    sample: sampleText(bytes, sampleBytes),
    byteLength,
    ...(issues === undefined ? {} : { issues }),
    lineNumber,
  })
  if (line.truncated) return reject("lineTooLong")
  let text: string
  try {
    text = fatal.decode(bytes)
  } catch {
    return reject("notUtf8")
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return reject("notJson")
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("invalidEvent", `(event): expected an object, got ${describe(value)}`)
  }
  const type = (value as { type?: unknown }).type
  const schema = typeof type === "string" ? memberSchemas.get(type) : undefined
  if (!schema) return reject("invalidEvent", unknownType(type))
  const result = schema.safeParse(value)
  if (!result.success) return reject("invalidEvent", formatIssues(result.error.issues))
  const event = result.data
  for (const key of ["jobId", "runId"] as const) {
    if (event[key] !== expect[key]) {
      const got = sampleText(Buffer.from(event[key]), 80)
      return reject("invalidEvent", `${key}: expected "${expect[key]}" (this sandbox's run), got "${got}"`)
    }
  }
  return { kind: "event", event, text, lineNumber, byteLength }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array"
  return value === null ? "null" : typeof value
}

function unknownType(type: unknown): string {
  if (typeof type !== "string") return `type: expected an event type (a string), got ${describe(type)}`
  const name = JSON.stringify(sampleText(Buffer.from(type), 80))
  return orchestratorTypes.has(type)
    ? `type: ${name} is written by the orchestrator, never by a sandbox`
    : `type: unknown event type ${name}`
}

/**
 * Reads a sandbox's stdout (e.g. a child process's `stdout`, with no encoding set) and yields one item
 * per non-empty line, in order: the valid event, or why the line was rejected. Never throws for a bad
 * line; only an error of the source itself ends the stream. Reads the source only as fast as items are
 * consumed, and holds at most one chunk plus one partial line (bounded by `maxLineBytes`).
 */
export async function* readSandboxEvents(
  source: AsyncIterable<Uint8Array>,
  options: ReadSandboxEventsOptions,
): AsyncGenerator<IntakeItem> {
  const { expect, counts = newIntakeCounts() } = options
  const sampleBytes = options.sampleBytes ?? DEFAULT_SAMPLE_BYTES
  const framer = new LineFramer(options)
  const take = (line: FramedLine): IntakeItem => {
    const item = validateLine(line, expect, sampleBytes)
    counts.lines++
    if (item.kind === "event") counts.events++
    else counts.rejected++
    return item
  }
  for await (const chunk of source) {
    if (typeof chunk === "string") {
      throw new TypeError("readSandboxEvents needs bytes: do not set an encoding on the stream")
    }
    counts.bytes += chunk.byteLength
    for (const line of framer.push(chunk)) yield take(line)
  }
  for (const line of framer.end()) yield take(line)
}
