// The streaming selection pipeline: fold deltas, match, paginate (offset/take), add context, count. One pass,
// constant memory: what it holds is the open folds, the context window and nothing else.
import { DeltaFold } from "./delta-fold.ts"
import { DELTA_TYPES, type LineMatcher } from "./event-matcher.ts"
import type { LogLine } from "./log-line.ts"
import { SummaryCounter } from "./log-summary.ts"

export type Entry = ({ kind: "line"; line: LogLine } | { kind: "fold"; fold: DeltaFold }) & {
  /** selected by the query and on the page; false for a context entry */
  match: boolean
  /** position in the whole (unfiltered) sequence of entries, to tell adjacent entries from gaps */
  seq: number
}

export interface SelectionOptions {
  /** absent: every line matches */
  matcher?: LineMatcher
  /** entries per page; 0 for all */
  take: number
  offset: number
  /** entries shown before and after each match on the page */
  context: number
  /** fold streaming deltas into one entry per stream (the text view) */
  foldDeltas: boolean
  onEntry: (entry: Entry) => void
}

export class EventSelection {
  readonly summary = new SummaryCounter()
  /** entries the query matched, before pagination */
  matchedEntries = 0
  /** matched entries on the page */
  shownMatches = 0
  readonly #options: SelectionOptions
  readonly #folds = new Map<string, DeltaFold>()
  readonly #window: ContextWindow
  #seq = 0
  #after = 0

  constructor(options: SelectionOptions) {
    this.#options = options
    this.#window = new ContextWindow(options.context)
  }

  push(line: LogLine): void {
    const { matcher, foldDeltas } = this.#options
    const matched = matcher ? matcher(line) : true
    if (matched) this.summary.add(line)
    if (foldDeltas) {
      const open = this.#folds.get(line.runId)
      const type = line.type
      if (type !== undefined && DELTA_TYPES.has(type)) {
        if (open?.continues(line)) {
          open.add(line, matched)
          return
        }
        if (open) this.#closeFold(open)
        const fold = new DeltaFold(line)
        fold.add(line, matched)
        this.#folds.set(line.runId, fold)
        return
      }
      if (open) this.#closeFold(open)
    }
    this.#entry(line, matched)
  }

  /** Closes the streams still open (a log cut mid-stream). */
  end(): void {
    for (const fold of [...this.#folds.values()]) this.#closeFold(fold)
  }

  #closeFold(fold: DeltaFold): void {
    this.#folds.delete(fold.runId)
    this.#entry(fold, fold.matched > 0)
  }

  #entry(item: LogLine | DeltaFold, match: boolean): void {
    const { take, offset, onEntry } = this.#options
    const seq = this.#seq++
    const make = (asMatch: boolean): Entry =>
      item instanceof DeltaFold
        ? { kind: "fold", fold: item, match: asMatch, seq }
        : { kind: "line", line: item, match: asMatch, seq }
    if (match) {
      const index = this.matchedEntries++
      if (index >= offset && (take === 0 || index < offset + take)) {
        for (const before of this.#window.drain()) onEntry(before)
        onEntry(make(true))
        this.shownMatches++
        this.#after = this.#options.context
        return
      }
    }
    if (this.#after > 0) {
      this.#after--
      onEntry(make(false))
      return
    }
    if (this.#options.context === 0) return
    item.detach()
    this.#window.push(make(false))
  }
}

/** The last `size` entries not shown, in a ring (so a large --context costs nothing per line). */
class ContextWindow {
  readonly #ring: (Entry | undefined)[]
  #start = 0
  #length = 0

  constructor(size: number) {
    this.#ring = new Array(size)
  }

  push(entry: Entry): void {
    const size = this.#ring.length
    if (size === 0) return
    this.#ring[(this.#start + this.#length) % size] = entry
    if (this.#length < size) this.#length++
    else this.#start = (this.#start + 1) % size
  }

  drain(): Entry[] {
    const size = this.#ring.length
    const out: Entry[] = []
    for (let i = 0; i < this.#length; i++) out.push(this.#ring[(this.#start + i) % size] as Entry)
    this.#ring.fill(undefined)
    this.#start = 0
    this.#length = 0
    return out
  }
}
