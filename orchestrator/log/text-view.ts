// The text view: the job, the tree, then one line per event (a folded stream is one line), then where the page ends.
import type { JobRun } from "../job-tree/job-run.ts"
import { renderRunTree } from "../job-tree/tree-lines.ts"
import {
  clockTime,
  compact,
  count,
  dateTime,
  duration,
  oneLine,
  plural,
  quote,
} from "../text/text-preview.ts"
import { checkpointLines } from "./checkpoint-view.ts"
import { eventDetail } from "./event-detail.ts"
import type { Entry } from "./event-selection.ts"
import type { LoadedJob } from "./job-records.ts"
import { type CorruptLine, isCorrupt } from "./log-line.ts"
import type { LogSummary } from "./log-summary.ts"
import type { LogView, ViewEnd, ViewStart } from "./log-view.ts"
import type { OutputBuffer } from "./output-buffer.ts"

const TYPE_WIDTH = 26
const STEP_WIDTH = 6

export class TextView implements LogView {
  readonly #out: OutputBuffer
  #start: ViewStart | undefined
  #experts = new Map<string, string>()
  #expertWidth = 8
  #lastSeq = -1

  constructor(out: OutputBuffer) {
    this.#out = out
  }

  begin(start: ViewStart): void {
    this.#start = start
    const out = this.#out
    this.#experts = new Map(start.loaded.runs.map((run) => [run.id, run.expertKey]))
    this.#expertWidth = Math.min(20, Math.max(8, ...start.loaded.runs.map((run) => run.expertKey.length)))
    for (const line of jobLines(start.loaded, start.isLatest)) out.line(line)
    if (start.run) for (const line of runLines(start.run)) out.line(line)
    if (start.checkpoint) {
      out.line()
      for (const line of checkpointLines(start.checkpoint, start.query)) out.line(line)
    }
    if (start.tree) {
      out.line()
      out.line("Runs:")
      if (start.tree.length === 0) out.line("  (no runs yet)")
      for (const line of renderRunTree(start.tree)) out.line(line)
    }
    if (start.showEvents) {
      out.line()
      out.line("Events:")
    }
  }

  entry(entry: Entry): void {
    const start = this.#start
    if (!start?.showEvents) return
    const out = this.#out
    const withContext = start.query.context > 0
    if (withContext && this.#lastSeq !== -1 && entry.seq !== this.#lastSeq + 1) out.line("--")
    this.#lastSeq = entry.seq
    const marker = withContext ? (entry.match ? "> " : "  ") : ""
    if (entry.kind === "fold") {
      const { fold } = entry
      const expert = this.#experts.get(fold.runId) ?? "?"
      const type = `${fold.type} ×${fold.count}`
      const preview = `"${oneLine(fold.preview, 100)}${fold.truncated ? "…" : ""}"`
      out.line(`${marker}${this.#columns(fold.firstTimestamp, fold.stepNumber, expert, type)}${preview}`)
      return
    }
    const event = entry.line.event()
    if (isCorrupt(event)) {
      out.line(`${marker}${corruptLine(event)}`)
      return
    }
    const expert =
      ("expertKey" in event ? event.expertKey : undefined) ?? this.#experts.get(event.runId) ?? "?"
    const step = "stepNumber" in event ? event.stepNumber : undefined
    out.line(
      `${marker}${this.#columns(event.timestamp, step, expert, event.type)}${eventDetail(event)}`.trimEnd(),
    )
    if (start.query.verbose) out.line(indent(body(entry.line.stored(event)), withContext ? 6 : 4))
  }

  end(result: ViewEnd | undefined): void {
    const start = this.#start
    if (!start || !result) return
    const out = this.#out
    if (start.query.summary) {
      out.line()
      for (const line of summaryLines(result.summary)) out.line(line)
      return
    }
    if (!start.showEvents) return
    out.line(pageLine(result, start))
  }

  #columns(timestamp: number, step: number | undefined, expert: string, type: string): string {
    const stepText = step === undefined ? "" : `[${step}]`
    return `${clockTime(timestamp)}  ${stepText.padEnd(STEP_WIDTH)}${expert.padEnd(this.#expertWidth)}  ${type.padEnd(TYPE_WIDTH)}  `
  }
}

function jobLines({ job, synthesized, runs }: LoadedJob, isLatest: boolean): string[] {
  const took = job.finishedAt !== undefined ? ` · Duration: ${duration(job.finishedAt - job.startedAt)}` : ""
  const failed = runs.filter((run) => run.status === "stoppedByError").length
  return [
    `Job ${job.id}${isLatest ? " (showing latest job)" : ""}`,
    ...(synthesized ? ["  (job.json is missing: rebuilt from the job's runs and checkpoints)"] : []),
    `  Status: ${job.status} · Coordinator: ${job.coordinatorExpertKey} · Sandbox: ${job.backend}`,
    `  Started: ${dateTime(job.startedAt)}${took}`,
    `  Steps: ${count(job.totalSteps)}${job.maxSteps !== undefined ? ` of ${count(job.maxSteps)}` : ""} · Tokens: ${compact(
      job.usage.inputTokens,
    )} in (${compact(job.usage.cachedInputTokens)} cached) / ${compact(job.usage.outputTokens)} out · Runs: ${count(runs.length)}${
      failed > 0 ? ` (${failed} failed)` : ""
    }`,
  ]
}

function runLines(run: JobRun): string[] {
  const parent = run.parentRunId
    ? ` · Parent: ${run.parentRunId}${run.parentToolCallId ? ` (tool call ${run.parentToolCallId})` : ""}`
    : ""
  const sandbox = run.sandbox
    ? `${run.sandbox.backend}${run.sandbox.id ? ` ${run.sandbox.id}` : ""}`
    : "(not recorded)"
  const took = run.finishedAt !== undefined ? ` · Duration: ${duration(run.finishedAt - run.startedAt)}` : ""
  const usage = run.usage
    ? `  Tokens: ${compact(run.usage.inputTokens)} in / ${compact(run.usage.outputTokens)} out (the conversation so far)`
    : undefined
  return [
    "",
    `Run ${run.id} · ${run.expertKey}${run.resumedFrom ? " (resumed)" : ""}${run.source === "events" ? " (rebuilt from its events)" : ""}`,
    `  Status: ${run.status}${parent}${run.resumedFrom ? ` · Resumed from: ${run.resumedFrom}` : ""}`,
    `  Sandbox: ${sandbox} · Started: ${dateTime(run.startedAt)}${took}`,
    ...(usage ? [usage] : []),
    ...(run.error
      ? [`  Error: ${run.error.code ?? run.error.name}: ${oneLine(run.error.message, 200)}`]
      : []),
  ]
}

function corruptLine(corrupt: CorruptLine): string {
  return `!! ${corrupt.problem}: ${quote(corrupt.sample, 80)}`
}

/** The event's fields but the envelope, as its own protocol version reads it (see LogLine.stored). */
function body(event: Record<string, unknown>): string {
  const {
    protocolVersion: _,
    id: __,
    jobId: ___,
    runId: ____,
    timestamp: _____,
    type: ______,
    ...rest
  } = event
  return JSON.stringify(rest, null, 2)
}

function indent(text: string, spaces: number): string {
  const pad = " ".repeat(spaces)
  return text.replace(/^/gm, pad)
}

function summaryLines(summary: LogSummary): string[] {
  const steps = summary.stepRange ? ` · Steps: ${summary.stepRange.min}–${summary.stepRange.max}` : ""
  const types = Object.entries(summary.byType).map(([type, n]) => `${type} ${count(n)}`)
  return [
    "Summary:",
    `  Events: ${count(summary.totalEvents)} · Errors: ${count(summary.errorCount)} · Tool events: ${count(
      summary.toolCallCount,
    )} · Delegation events: ${count(summary.delegationCount)}${steps}`,
    ...(types.length > 0 ? [`  By type: ${types.join(", ")}`] : []),
  ]
}

function pageLine(result: ViewEnd, start: ViewStart): string {
  const { take, offset } = start.query
  const { matchedEntries: total, shownMatches: shown } = result
  const events = result.summary.totalEvents
  const folded = events !== total ? ` (${plural(events, "event")}, streaming deltas folded)` : ""
  if (total === 0) return start.query.filtered ? "No events match." : "No events."
  if (shown === 0)
    return `No events on this page: ${count(total)} matched, --offset ${count(offset)} is past them.`
  const first = offset + 1
  const last = offset + shown
  const more =
    last < total ? `; --offset ${last} for the next page${take > 0 ? ", --take 0 for all" : ""}` : ""
  return `── ${count(first)}–${count(last)} of ${count(total)}${folded}${more}`
}
