// Scrubs a text that arrives piece by piece (streamed deltas, stderr chunks), where a secret may straddle pieces.
import { MIN_PARTIAL, type SecretScrubber } from "./secret-scrubber.ts"

/**
 * A piece that ends in the first MIN_PARTIAL or more characters of a secret keeps them back: they go out at the
 * start of the next piece, or as the marker once that piece completes the secret. So the pieces put together read
 * exactly as the whole text scrubbed, and no more than MIN_PARTIAL - 1 characters of a secret ever go out (those
 * shorter beginnings go out as they come, and the rest of the secret becomes the marker). What is held when the
 * stream ends never goes out: the whole text (completeRun, a checkpoint) has it.
 */
export class StreamScrubber {
  private readonly scrubber: SecretScrubber
  /**
   * The last MIN_PARTIAL - 1 characters that went out as is: a secret may have begun there. It cannot have begun
   * earlier: MIN_PARTIAL characters of it would have been held back.
   */
  private tail = ""
  /** held back: the first characters of a secret, perhaps */
  private held = ""

  constructor(scrubber: SecretScrubber) {
    this.scrubber = scrubber
  }

  /** What of the text so far may go out now. */
  push(piece: string): string {
    if (this.scrubber.maxLength === 0) return piece
    const pending = this.held + piece
    const text = this.tail + pending
    const offset = this.tail.length
    if (!this.scrubber.mayBegin(text)) {
      this.held = ""
      this.tail = text.slice(-(MIN_PARTIAL - 1))
      return pending
    }
    const matches = this.scrubber.matches(text)
    const lastEnd = matches.at(-1)?.end ?? 0
    const holdFrom = Math.max(offset, this.scrubber.partialStart(text, lastEnd))
    let out = ""
    let cursor = offset
    for (const match of matches) {
      if (match.end <= offset) continue
      out += text.slice(cursor, Math.max(cursor, match.start)) + match.marker
      cursor = match.end
    }
    out += text.slice(cursor, Math.max(cursor, holdFrom))
    this.held = text.slice(Math.max(cursor, holdFrom))
    const keepFrom = Math.max(lastEnd, holdFrom - (MIN_PARTIAL - 1))
    this.tail = text.slice(keepFrom, Math.max(keepFrom, holdFrom))
    return out
  }

  /** The text is over: what was held back (a secret's first characters, cut by the end) goes out as its marker. */
  end(): string {
    const held = this.held
    this.held = ""
    this.tail = ""
    return held === "" ? "" : this.scrubber.partialMarker(held)
  }
}
