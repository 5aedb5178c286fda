// Scrubs one run's events as the orchestrator takes them in: the line as stored and the parsed event alike, and
// each stream's deltas across events (a secret streamed a few characters at a time).
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { SecretScrubber } from "./secret-scrubber.ts"
import { StreamScrubber } from "./stream-scrubber.ts"

/**
 * A `\u` escape of anything but a control character. JSON.stringify never writes one, so a line holding one may spell
 * a secret in a way its raw text does not show (`\u0073k-...`): such a line is checked as parsed.
 */
const ODD_ESCAPE = /\\u(?!00[01])/i

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

export class RunEventScrubber {
  private readonly scrubber: SecretScrubber
  /** the run result's stream and the reasoning's, each started afresh by its start event */
  private result: StreamScrubber | undefined
  private reasoning: StreamScrubber | undefined
  /** a secret holding `/` can be spelled with `\/` anywhere in it */
  private readonly slashes: boolean
  /** a line this finds nothing in holds no secret, however spelled: the one scan of most lines */
  private readonly gate: RegExp

  constructor(scrubber: SecretScrubber) {
    this.scrubber = scrubber
    this.slashes = scrubber.secrets.some((secret) => secret.value.includes("/"))
    this.gate = scrubber.headsOr(this.slashes ? ["\\u", "\\/"] : ["\\u"])
  }

  /**
   * A sandbox's event and its line as printed, scrubbed: undefined when they hold no secret (the hot path allocates
   * nothing); else both, the line rewritten in place where it still parses, re-serialised from the event where not.
   */
  line<E extends PerstackEvent>(event: E, text: string): { event: E; text: string } | undefined {
    switch (event.type) {
      case "streamRunResult":
        this.result ??= new StreamScrubber(this.scrubber)
        return this.delta(this.result, event, event.delta) ?? this.whole(event, text)
      case "streamReasoning":
        this.reasoning ??= new StreamScrubber(this.scrubber)
        return this.delta(this.reasoning, event, event.delta) ?? this.whole(event, text)
      case "startStreamingRunResult":
        this.result = undefined
        break
      case "startStreamingReasoning":
        this.reasoning = undefined
        break
    }
    return this.whole(event, text)
  }

  private delta<E extends PerstackEvent>(stream: StreamScrubber, event: E, delta: string) {
    const out = stream.push(delta)
    if (out === delta) return undefined
    const clean = this.scrubber.scrubValue({ ...event, delta: out })
    return { event: clean, text: JSON.stringify(clean) }
  }

  /**
   * The start of a line that was no valid event (kept as an outputRejected sample): whole secrets and one cut at its
   * end replaced. A secret spelled there with escapes is written out decoded, redacted.
   */
  sample(text: string): string {
    const clean = this.scrubber.scrubFragment(text, { end: true })
    if (!this.escaped(clean)) return clean
    const decoded = clean
      .replace(/\\u([0-9a-fA-F]{4})/g, (spelled, hex: string) => {
        const code = Number.parseInt(hex, 16)
        return code < 0x20 ? spelled : String.fromCharCode(code)
      })
      .replaceAll("\\/", "/")
    const scrubbed = this.scrubber.scrubFragment(decoded, { end: true })
    return scrubbed === decoded ? clean : scrubbed
  }

  /** An event the orchestrator made itself (from what a sandbox said: an exit, a rejected line). */
  event<E extends PerstackEvent>(event: E): E {
    return this.scrubber.scrubValue(event)
  }

  private whole<E extends PerstackEvent>(event: E, text: string): { event: E; text: string } | undefined {
    if (!this.gate.test(text)) return undefined
    if (this.scrubber.mayHold(text)) {
      const clean = this.scrubber.scrub(text)
      if (clean !== text) {
        const cleanEvent = this.scrubber.scrubValue(event)
        return { event: cleanEvent, text: parses(clean) ? clean : JSON.stringify(cleanEvent) }
      }
    }
    if (!this.escaped(text)) return undefined
    // Spelled with escapes: the canonical form shows what a reader of the line would get.
    const canonical = JSON.stringify(JSON.parse(text))
    const clean = this.scrubber.scrub(canonical)
    if (clean === canonical) return undefined
    return { event: this.scrubber.scrubValue(event), text: clean }
  }

  private escaped(text: string): boolean {
    return (text.includes("\\u") && ODD_ESCAPE.test(text)) || (this.slashes && text.includes("\\/"))
  }
}
