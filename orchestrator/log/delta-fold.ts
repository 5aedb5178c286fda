// A run of streaming deltas (streamReasoning or streamRunResult) of one run and step, shown as one line.
import type { LogLine } from "./log-line.ts"

const PREVIEW_CHARS = 160
/** The first deltas are kept (not parsed) for the preview; most streams are never shown, so most never are. */
const KEPT_LINES = 24

export class DeltaFold {
  readonly runId: string
  readonly type: string
  readonly stepNumber: number | undefined
  readonly firstTimestamp: number
  count = 0
  /** how many of the deltas the query matched */
  matched = 0
  readonly #kept: LogLine[] = []
  #preview: string | undefined

  constructor(first: LogLine) {
    this.runId = first.runId
    this.type = first.type ?? ""
    this.stepNumber = first.stepNumber
    this.firstTimestamp = first.timestamp
  }

  /** Whether `line` continues this stream. */
  continues(line: LogLine): boolean {
    return line.runId === this.runId && line.type === this.type && line.stepNumber === this.stepNumber
  }

  add(line: LogLine, matched: boolean): void {
    this.count++
    if (matched) this.matched++
    if (this.#kept.length < KEPT_LINES) this.#kept.push(line)
  }

  /** The start of the streamed text. */
  get preview(): string {
    if (this.#preview === undefined) {
      let text = ""
      for (const line of this.#kept) {
        if (text.length >= PREVIEW_CHARS) break
        const delta = (line.value() as { delta?: unknown } | undefined)?.delta
        if (typeof delta === "string") text += delta
      }
      this.#preview = text
      this.#kept.length = 0
    }
    return this.#preview
  }

  /** More text was streamed than the preview shows. */
  get truncated(): boolean {
    return this.preview.length >= PREVIEW_CHARS || this.count > KEPT_LINES
  }

  /** Copies the kept lines out of their chunks, for a fold held a while (the context window). */
  detach(): void {
    for (const line of this.#kept) line.detach()
  }
}
