// What a rejected line is recorded with: a short, safe sample of it, and what the schema expected.
import type { z } from "zod"

const lossy = new TextDecoder("utf-8")

/** How many bytes of a UTF-8 sequence its lead byte announces (1 for a byte that is no lead). */
const sequenceLength = (lead: number): number =>
  lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xc2 && lead <= 0xdf ? 2 : 1

/**
 * The start of a line as text: its first `maxBytes` bytes, cut back to a character boundary, decoded
 * lossily (invalid bytes become U+FFFD), so it is always valid text even when the line is not.
 */
export function sampleText(bytes: Uint8Array, maxBytes: number): string {
  let end = Math.min(bytes.length, maxBytes)
  if (end < bytes.length) {
    // Drop a character cut in two by the limit rather than show it as U+FFFD.
    for (let back = 1; back <= 3 && end - back >= 0; back++) {
      const byte = bytes[end - back] ?? 0
      if ((byte & 0xc0) === 0x80) continue
      if (sequenceLength(byte) > back) end -= back
      break
    }
  }
  return lossy.decode(bytes.subarray(0, end))
}

const MAX_ISSUES = 5
const MAX_ISSUES_CHARS = 600

/** `checkpoint.messages[3].contents[0].type` */
function keyPath(path: readonly PropertyKey[]): string {
  let text = ""
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`
    else text += text === "" ? String(segment) : `.${String(segment)}`
  }
  return text === "" ? "(event)" : text
}

/** Zod's issues as one short line: `key.path: what was expected; ...`, the first few only. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => `${keyPath(issue.path)}: ${issue.message}`)
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : ""
  return clip(`${shown.join("; ")}${more}`, MAX_ISSUES_CHARS)
}

/** Shortens text to `max` UTF-16 units without splitting a surrogate pair (key names come from the line). */
function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let end = max - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}
