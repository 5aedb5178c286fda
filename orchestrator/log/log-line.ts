// One line of a run's events.ndjson, read lazily: the cheap fields are sniffed from the bytes, the rest parsed on demand.
import { eventSchemaByType, type PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { v1EventSchemaByType } from "../../runtime/protocol/v1/events.ts"
import { formatIssues, sampleText } from "../intake/rejection-text.ts"
import { sniffEnvelope } from "./line-sniff.ts"

// Dispatch on `type` to the one member schema: the same check as the whole union, done once.
const memberSchemas = eventSchemaByType

/** Every event type of the protocol, for checking `--type`. */
export const EVENT_TYPES: readonly string[] = [...memberSchemas.keys()]

/** A line that is not a valid event: shown and counted, never silently dropped. */
export interface CorruptLine {
  /** file:line and what is wrong */
  problem: string
  /** the start of the line, as text */
  sample: string
}

const UNPARSED = Symbol("unparsed")

export class LogLine {
  readonly runId: string
  /** the line without its newline; a view into the file's chunk, or a copy after `detach()` */
  bytes: Buffer
  readonly lineNumber: number
  /** the whole line's size when it was over the reader's cap (only its start is kept) */
  readonly truncatedFrom: number | undefined
  readonly #file: string
  #value: unknown = UNPARSED
  #event: PerstackEvent | CorruptLine | undefined
  #sniffed = false
  #type: string | null | undefined
  #timestamp: number | undefined
  #stepNumber: number | null | undefined
  /** used for ordering when the line carries no readable timestamp */
  readonly #fallbackTimestamp: number

  constructor(options: {
    runId: string
    file: string
    bytes: Buffer
    lineNumber: number
    truncatedFrom?: number
    fallbackTimestamp: number
  }) {
    this.runId = options.runId
    this.#file = options.file
    this.bytes = options.bytes
    this.lineNumber = options.lineNumber
    this.truncatedFrom = options.truncatedFrom
    this.#fallbackTimestamp = options.fallbackTimestamp
  }

  /** The event type, or undefined when the line is not a JSON object with a string `type`. */
  get type(): string | undefined {
    if (this.#type === undefined) this.#sniff()
    if (this.#type === undefined) {
      const type = this.#field("type")
      this.#type = typeof type === "string" ? type : null
    }
    return this.#type ?? undefined
  }

  get timestamp(): number {
    if (this.#timestamp === undefined) this.#sniff()
    if (this.#timestamp === undefined) {
      const value = this.#field("timestamp")
      this.#timestamp = typeof value === "number" ? value : this.#fallbackTimestamp
    }
    return this.#timestamp
  }

  get stepNumber(): number | undefined {
    if (this.#stepNumber === undefined) this.#sniff()
    if (this.#stepNumber === undefined) {
      const value = this.#field("stepNumber")
      this.#stepNumber = typeof value === "number" ? value : null
    }
    return this.#stepNumber ?? undefined
  }

  /** The parsed JSON (not validated), or undefined when the line is not JSON. */
  value(): unknown {
    if (this.#value === UNPARSED) {
      if (this.truncatedFrom !== undefined) this.#value = undefined
      else {
        try {
          this.#value = JSON.parse(this.bytes.toString("utf8"))
        } catch {
          this.#value = undefined
        }
      }
    }
    return this.#value
  }

  /** The event, validated against the protocol; or what is wrong with the line. */
  event(): PerstackEvent | CorruptLine {
    if (this.#event) return this.#event
    this.#event = this.#validate()
    return this.#event
  }

  /**
   * The event as its own protocol version reads it: a protocol 1 line in protocol 1's shape, as v1 showed it (event()
   * reads it as protocol 2), given what event() gave. What the views that print whole events print.
   */
  stored(event: PerstackEvent): Record<string, unknown> {
    const value = this.value() as { protocolVersion?: unknown }
    const v1 = value.protocolVersion === 1 ? v1EventSchemaByType.get(event.type) : undefined
    return v1 ? v1.parse(value) : event
  }

  /** Copies the bytes out of the shared chunk, for a line kept for a while (context, folds). */
  detach(): this {
    this.bytes = Buffer.from(this.bytes)
    return this
  }

  /** Takes what the bytes prove about the envelope; the getters parse the line for the rest. */
  #sniff(): void {
    if (this.#sniffed) return
    this.#sniffed = true
    const envelope = sniffEnvelope(this.bytes)
    const absent = envelope.complete ? null : undefined
    this.#type ??= envelope.type ?? absent
    this.#timestamp ??= envelope.timestamp
    this.#stepNumber ??= envelope.stepNumber ?? absent
  }

  #field(key: string): unknown {
    const value = this.value()
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined
  }

  #validate(): PerstackEvent | CorruptLine {
    const where = `${this.#file}:${this.lineNumber}`
    const corrupt = (problem: string): CorruptLine => ({
      problem: `${where}: ${problem}`,
      sample: sampleText(this.bytes, 200),
    })
    if (this.truncatedFrom !== undefined)
      return corrupt(`line of ${this.truncatedFrom} bytes is over the reader's cap`)
    const value = this.value()
    if (value === undefined) return corrupt("not JSON")
    const schema = memberSchemas.get(this.type ?? "")
    if (!schema) return corrupt(`not an event: unknown type ${JSON.stringify(this.type ?? null)}`)
    const result = schema.safeParse(value)
    return result.success ? result.data : corrupt(`not a valid event: ${formatIssues(result.error.issues)}`)
  }
}

export function isCorrupt(event: PerstackEvent | CorruptLine): event is CorruptLine {
  return "problem" in event
}
