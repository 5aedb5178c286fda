// Replaces every secret a job knows with `[redacted:NAME]`: in text as it is stored (JSON-escaped forms too), in
// parsed values, and at the cut edges of fragments (a stderr tail, the start of a line) where a secret may be halved.
import { ORCHESTRATOR_TOKENS, type Secret, type TokenShape } from "./job-secrets.ts"

export const redacted = (name: string): string => `[redacted:${name}]`

/**
 * A secret cut at a fragment's edge is masked (and a streamed piece's tail held back) once this many of its
 * characters are there: fewer than this many characters of a secret may show, never more.
 */
export const MIN_PARTIAL = 4

interface Form {
  text: string
  marker: string
}

export interface SecretMatch {
  start: number
  end: number
  marker: string
}

/** base64url, the alphabet of a minted token's random part */
function isTokenChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 45 ||
    code === 95
  )
}

/**
 * How a value can appear in JSON text: as is, escaped as JSON.stringify writes it (once, and twice for JSON inside a
 * JSON string, such as a tool's JSON output in an event line), and with `/` written `\/`. Only a value holding `"`,
 * `\` or a control character has more than one form.
 */
function formsOf(secret: Secret): Form[] {
  const marker = redacted(secret.name)
  const escaped = JSON.stringify(secret.value).slice(1, -1)
  const twice = JSON.stringify(escaped).slice(1, -1)
  const texts = new Set([secret.value, escaped, escaped.replaceAll("/", "\\/"), twice])
  return [...texts].map((text) => ({ text, marker }))
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")

/** One regular expression for any of the texts: one scan of a line, faster than a substring search per text. */
function anyOf(texts: Iterable<string>): RegExp {
  const unique = [...new Set(texts)].sort((a, b) => b.length - a.length)
  // With nothing to find, a pattern that never matches.
  return new RegExp(unique.length === 0 ? "(?!)" : unique.map(escapeRegExp).join("|"))
}

export class SecretScrubber {
  readonly secrets: readonly Secret[]
  /** the longest text one secret can take: how much a stream must remember */
  readonly maxLength: number
  private readonly forms: readonly Form[]
  private readonly tokens: readonly TokenShape[]
  /** any whole secret, or a token's prefix */
  private readonly anyWhole: RegExp
  /** the first MIN_PARTIAL characters of each secret and token */
  private readonly heads: readonly string[]
  private readonly anyHead: RegExp

  constructor(secrets: readonly Secret[], tokens: readonly TokenShape[] = ORCHESTRATOR_TOKENS) {
    this.secrets = secrets
    this.tokens = tokens
    // Longest first: a secret that contains another is redacted whole.
    this.forms = secrets.flatMap(formsOf).sort((a, b) => b.text.length - a.text.length)
    this.maxLength = Math.max(
      0,
      ...this.forms.map((form) => form.text.length),
      ...tokens.map((token) => token.prefix.length + token.length),
    )
    const prefixes = tokens.map((token) => token.prefix)
    this.anyWhole = anyOf([...this.forms.map((form) => form.text), ...prefixes])
    this.heads = [...this.forms.map((form) => form.text), ...prefixes].map((text) =>
      text.slice(0, MIN_PARTIAL),
    )
    this.anyHead = anyOf(this.heads)
  }

  /** One scan for the start of any secret or any of `also`: a gate before the closer checks. */
  headsOr(also: readonly string[]): RegExp {
    return anyOf([...this.heads, ...also])
  }

  /** Whether `text` may hold a secret: the one check on the hot path (one scan). */
  mayHold(text: string): boolean {
    return this.anyWhole.test(text)
  }

  /** Whether `text` may hold a secret or the start of one (MIN_PARTIAL characters or more). */
  mayBegin(text: string): boolean {
    return this.anyHead.test(text)
  }

  /** Every whole secret in `text` replaced by its marker. */
  scrub(text: string): string {
    if (!this.mayHold(text)) return text
    return replaceMatches(text, this.matches(text))
  }

  /** The value with every string in it (keys included) scrubbed; returns the same value when nothing changed. */
  scrubValue<T>(value: T): T {
    if (typeof value === "string") return this.scrub(value) as T
    if (typeof value !== "object" || value === null) return value
    if (Array.isArray(value)) {
      let changed = false
      const out = value.map((item) => {
        const clean = this.scrubValue(item)
        if (clean !== item) changed = true
        return clean
      })
      return (changed ? out : value) as T
    }
    let changed = false
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const cleanKey = this.scrub(key)
      const clean = this.scrubValue(item)
      if (clean !== item || cleanKey !== key) changed = true
      out[cleanKey] = clean
    }
    return (changed ? out : value) as T
  }

  /**
   * A piece cut out of a longer text: whole secrets replaced, and a secret halved by the cut masked too, at the end
   * (its first MIN_PARTIAL or more characters) and at the start (its last MIN_PARTIAL or more). A token halved at
   * the start is left: its tail alone is no credential, and any run of letters would look like one.
   */
  scrubFragment(text: string, cut: { start?: boolean; end?: boolean }): string {
    let out = this.scrub(text)
    if (cut.end) {
      const from = this.partialStart(out, 0)
      if (from < out.length) out = `${out.slice(0, from)}${this.partialMarker(out.slice(from))}`
    }
    if (cut.start) {
      for (const form of this.forms) {
        const cutLength = leadingSuffixLength(out, form.text)
        if (cutLength > 0) {
          out = `${form.marker}${out.slice(cutLength)}`
          break
        }
      }
    }
    return out
  }

  /** Whole secrets in `text` from `from` on, in order, none overlapping (the earliest, then the longest, wins). */
  matches(text: string, from = 0): SecretMatch[] {
    const found: SecretMatch[] = []
    for (const form of this.forms) {
      for (let at = text.indexOf(form.text, from); at !== -1; at = text.indexOf(form.text, at + 1)) {
        found.push({ start: at, end: at + form.text.length, marker: form.marker })
      }
    }
    for (const token of this.tokens) {
      const marker = redacted(token.name)
      for (let at = text.indexOf(token.prefix, from); at !== -1; at = text.indexOf(token.prefix, at + 1)) {
        const end = at + token.prefix.length + token.length
        if (end <= text.length && tokenCharsUpTo(text, at + token.prefix.length, end) === end) {
          found.push({ start: at, end, marker })
        }
      }
    }
    if (found.length < 2) return found
    found.sort((a, b) => a.start - b.start || b.end - a.end)
    const kept: SecretMatch[] = []
    let until = -1
    for (const match of found) {
      if (match.start < until) continue
      kept.push(match)
      until = match.end
    }
    return kept
  }

  /**
   * Where the text's longest ending that is the start of a secret (at least MIN_PARTIAL characters, not the whole
   * secret) begins, looking no earlier than `from`; the text's length when it has none.
   */
  partialStart(text: string, from: number): number {
    let best = text.length
    const last = text.length - MIN_PARTIAL
    for (const form of this.forms) {
      const head = form.text.slice(0, MIN_PARTIAL)
      const first = Math.max(from, text.length - form.text.length + 1)
      for (let at = text.indexOf(head, first); at !== -1 && at <= last && at < best; ) {
        if (form.text.startsWith(text.slice(at))) best = at
        at = text.indexOf(head, at + 1)
      }
    }
    for (const token of this.tokens) {
      const head = token.prefix.slice(0, MIN_PARTIAL)
      const full = token.prefix.length + token.length
      const first = Math.max(from, text.length - full + 1)
      for (let at = text.indexOf(head, first); at !== -1 && at <= last && at < best; ) {
        const rest = text.slice(at)
        const body = at + token.prefix.length
        const prefixPart = rest.length <= token.prefix.length
        if (
          prefixPart
            ? token.prefix.startsWith(rest)
            : rest.startsWith(token.prefix) && tokenCharsUpTo(text, body, text.length) === text.length
        ) {
          best = at
        }
        at = text.indexOf(head, at + 1)
      }
    }
    return best
  }

  /** The marker for a secret's first characters (found by partialStart). */
  partialMarker(start: string): string {
    for (const form of this.forms) if (form.text.startsWith(start)) return form.marker
    const token = this.tokens.find(
      (shape) => start.startsWith(shape.prefix) || shape.prefix.startsWith(start),
    )
    return redacted(token?.name ?? "secret")
  }
}

/** The text with each match replaced by its marker. */
function replaceMatches(text: string, matches: readonly SecretMatch[]): string {
  if (matches.length === 0) return text
  let out = ""
  let cursor = 0
  for (const match of matches) {
    out += text.slice(cursor, match.start) + match.marker
    cursor = match.end
  }
  return out + text.slice(cursor)
}

/** The index of the first non-token character in [from, to), or `to`. */
function tokenCharsUpTo(text: string, from: number, to: number): number {
  for (let at = from; at < to; at++) if (!isTokenChar(text.charCodeAt(at))) return at
  return to
}

/** How many of the text's first characters are the end of `secret` (MIN_PARTIAL or more, not all of it); else 0. */
function leadingSuffixLength(text: string, secret: string): number {
  for (let length = Math.min(secret.length - 1, text.length); length >= MIN_PARTIAL; length--) {
    if (text.startsWith(secret.slice(secret.length - length))) return length
  }
  return 0
}
