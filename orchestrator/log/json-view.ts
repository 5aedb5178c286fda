// The JSON view: one document, the original's shape ({job, events, summary, ...}), written as it streams so a
// million events never sit in memory. Events are the stored lines themselves, validated, not re-serialised.
import type { Entry } from "./event-selection.ts"
import { type CorruptLine, isCorrupt } from "./log-line.ts"
import type { LogView, ViewEnd, ViewStart } from "./log-view.ts"
import type { OutputBuffer } from "./output-buffer.ts"

/** Lines that are not valid events are listed apart (the events array holds events only), up to this many. */
const MAX_UNREADABLE = 100

export class JsonView implements LogView {
  readonly #out: OutputBuffer
  readonly #pretty: boolean
  #fields = 0
  #items = 0
  #inEvents = false
  #unreadable: (CorruptLine & { runId: string })[] = []
  #unreadableCount = 0

  constructor(out: OutputBuffer, options: { pretty: boolean }) {
    this.#out = out
    this.#pretty = options.pretty
  }

  begin(start: ViewStart): void {
    this.#out.write("{")
    this.#field("job", start.loaded.job)
    if (start.loaded.synthesized) this.#field("jobSynthesized", true)
    if (start.isLatest) this.#field("isLatestJob", true)
    this.#field("storagePath", start.storagePath)
    this.#field("runs", start.loaded.runs)
    if (start.tree) this.#field("tree", start.tree)
    if (start.run) this.#field("run", start.run)
    if (start.checkpoint) this.#field("checkpoint", start.checkpoint)
    if (start.showEvents) {
      this.#key("events")
      this.#out.write("[")
      this.#inEvents = true
    }
  }

  entry(entry: Entry): void {
    if (!this.#inEvents || entry.kind !== "line") return
    const event = entry.line.event()
    if (isCorrupt(event)) {
      this.#unreadableCount++
      if (this.#unreadable.length < MAX_UNREADABLE)
        this.#unreadable.push({ runId: entry.line.runId, ...event })
      return
    }
    // As stored: a protocol 1 line keeps its own shape (the event itself is read as protocol 2).
    const text = this.#pretty
      ? indent(JSON.stringify(entry.line.stored(event), null, 2), 4)
      : entry.line.bytes.toString("utf8")
    this.#out.write(`${this.#items++ === 0 ? "" : ","}${this.#pretty ? "\n    " : ""}${text.trimStart()}`)
  }

  end(result: ViewEnd | undefined): void {
    if (this.#inEvents) {
      this.#out.write(this.#pretty && this.#items > 0 ? "\n  ]" : "]")
      this.#inEvents = false
    }
    if (result) {
      this.#field("summary", result.summary)
      this.#field("totalEventsBeforeLimit", result.matchedEntries)
      this.#field("matchedAfterPagination", result.shownMatches)
    }
    if (this.#unreadableCount > 0) {
      this.#field("unreadableLines", this.#unreadable)
      this.#field("unreadableLineCount", this.#unreadableCount)
    }
    this.#out.write(this.#pretty ? "\n}\n" : "}\n")
  }

  #key(key: string): void {
    this.#out.write(
      `${this.#fields++ === 0 ? "" : ","}${this.#pretty ? "\n  " : ""}${JSON.stringify(key)}:${this.#pretty ? " " : ""}`,
    )
  }

  #field(key: string, value: unknown): void {
    this.#key(key)
    this.#out.write(
      this.#pretty ? indent(JSON.stringify(value, null, 2), 2).trimStart() : JSON.stringify(value),
    )
  }
}

function indent(text: string, spaces: number): string {
  const pad = " ".repeat(spaces)
  return text.replace(/^/gm, pad)
}
