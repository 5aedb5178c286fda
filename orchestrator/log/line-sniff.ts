// Reads an event line's envelope (type, timestamp, stepNumber) straight from its bytes, without JSON.parse.
// Sound or silent: a field is reported only when the bytes prove it; otherwise the caller parses the line.
//
// It walks the top-level object's leading members while their values are strings or integers, and stops at
// anything else (a nested object or array, a literal, a fraction): every key met before that is certainly a
// top-level key. Our writers put the envelope before any nested payload, so a line is answered from its first
// ~150 bytes. This runs for every line of a log, so it allocates nothing but the result it reuses.
import { eventSchemaByType } from "../../runtime/protocol/events/index.ts"

export interface Envelope {
  /** undefined: not seen (absent if `complete`) */
  type: string | undefined
  timestamp: number | undefined
  stepNumber: number | undefined
  /** every member of the object was read: a field not reported is absent, not merely unseen */
  complete: boolean
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const LOWER_T = 0x74
const LOWER_F = 0x66
const LOWER_N = 0x6e
const ZERO = 0x30
const NINE = 0x39
/** 15 digits stay exact in a double; longer integers are left to JSON.parse */
const MAX_DIGITS = 15

const bytesOf = (text: string) => Array.from(Buffer.from(text, "latin1"))
const TYPE = bytesOf("type")
const TIMESTAMP = bytesOf("timestamp")
const STEP_NUMBER = bytesOf("stepNumber")

/** The protocol's type names by length: a sniffed type is one of these strings, not a new one per line. */
const KNOWN_TYPES: ReadonlyMap<number, readonly [string, readonly number[]][]> = (() => {
  const table = new Map<number, [string, number[]][]>()
  for (const name of eventSchemaByType.keys()) {
    table.set(name.length, [...(table.get(name.length) ?? []), [name, bytesOf(name)]])
  }
  return table
})()

function sameBytes(line: Buffer, start: number, end: number, expected: readonly number[]): boolean {
  if (end - start !== expected.length) return false
  for (let i = 0; i < expected.length; i++) if (line[start + i] !== expected[i]) return false
  return true
}

function typeName(line: Buffer, start: number, end: number): string {
  for (const [name, bytes] of KNOWN_TYPES.get(end - start) ?? [])
    if (sameBytes(line, start, end, bytes)) return name
  return line.toString("latin1", start, end)
}

const result: Envelope = { type: undefined, timestamp: undefined, stepNumber: undefined, complete: false }

/**
 * The envelope of `line`. Returns the same object every call (copy what you need before the next call):
 * this runs a million times on a big log, and the allocation would cost more than the scan.
 */
export function sniffEnvelope(line: Buffer): Envelope {
  result.type = undefined
  result.timestamp = undefined
  result.stepNumber = undefined
  result.complete = false
  const length = line.length
  if (line[0] !== OPEN_BRACE) return result
  let at = 1
  if (line[at] === CLOSE_BRACE) {
    result.complete = true
    return result
  }
  while (at < length) {
    if (line[at] !== QUOTE) return result
    const keyStart = at + 1
    let keyEnd = keyStart
    while (keyEnd < length && line[keyEnd] !== QUOTE) {
      // An escaped key is not one of ours; what it spells is for JSON.parse to say.
      if (line[keyEnd] === BACKSLASH) return result
      keyEnd++
    }
    at = keyEnd + 1
    if (line[at] !== COLON) return result
    at++
    const first = line[at] as number
    if (first === QUOTE) {
      const valueStart = ++at
      let escaped = false
      while (at < length) {
        const byte = line[at]
        if (byte === QUOTE) break
        if (byte === BACKSLASH) {
          escaped = true
          at++
        }
        at++
      }
      if (at >= length) return result
      if (sameBytes(line, keyStart, keyEnd, TYPE)) {
        if (escaped) return result
        result.type = typeName(line, valueStart, at)
      }
      at++
    } else if (first >= ZERO && first <= NINE) {
      const valueStart = at
      let value = 0
      while (at < length) {
        const byte = line[at] as number
        if (byte < ZERO || byte > NINE) break
        value = value * 10 + (byte - ZERO)
        at++
      }
      const end = line[at]
      if (at - valueStart > MAX_DIGITS || (end !== COMMA && end !== CLOSE_BRACE)) return result
      if (sameBytes(line, keyStart, keyEnd, TIMESTAMP)) result.timestamp = value
      else if (sameBytes(line, keyStart, keyEnd, STEP_NUMBER)) result.stepNumber = value
    } else if (first === LOWER_T || first === LOWER_F || first === LOWER_N) {
      // true, false, null
      while (at < length && line[at] !== COMMA && line[at] !== CLOSE_BRACE) at++
    } else {
      // A nested value or a negative number: what follows is not proven top-level.
      return result
    }
    // All three found: the rest of the line cannot change them.
    if (result.type !== undefined && result.timestamp !== undefined && result.stepNumber !== undefined)
      return result
    const next = line[at]
    if (next === COMMA) {
      at++
      continue
    }
    // Whitespace is not the compact form we read: stop. A closing brace: the whole object was read.
    if (next === CLOSE_BRACE) result.complete = true
    return result
  }
  return result
}
