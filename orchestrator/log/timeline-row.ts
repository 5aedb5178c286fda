// One run segment's row of the job's timeline: a fold over its events into bars (its sandbox, each generation, each
// batch of tool calls) and marks (retries, crashes, errors, resumes, every other event), each naming the event whose
// detail it shows. Every event but the streaming deltas is on the row exactly once.
import { isTerminalEvent, type PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { oneLine, plural } from "../text/text-preview.ts"
import { toolCallText } from "./event-detail.ts"
import { DELTA_TYPES } from "./event-matcher.ts"
import type { CorruptLine } from "./log-line.ts"

export type TimelineKind =
  | "sandbox"
  | "generation"
  | "tools"
  | "wait"
  | "delegate"
  | "retry"
  | "crash"
  | "error"
  | "resume"
  | "done"
  | "unreadable"
  | "event"

export interface TimelineItem {
  kind: TimelineKind
  label: string
  start: number
  /** bars only; a mark has none */
  end?: number
  /** the index of the event (in the page's event list) this item shows when clicked */
  event: number
}

/** Events within a generation: the stream, and a transport retry (the model is asked again in the same step). */
const WITHIN_GENERATION: ReadonlySet<string> = new Set([
  "startStreamingReasoning",
  "completeStreamingReasoning",
  "startStreamingRunResult",
  "completeStreamingRunResult",
  "retry",
])
const CLOSES_TOOLS: ReadonlySet<string> = new Set([
  "resolveToolResults",
  "attemptCompletion",
  "finishAllToolCalls",
  "continueToNextStep",
  "startGeneration",
  "sandboxExited",
])

export class TimelineRow {
  readonly items: TimelineItem[] = []
  /** when the segment stopped to wait for its delegates, and for whom */
  waitFrom?: { at: number; event: number; delegates: string[] }
  /** streaming deltas: not on the row, counted */
  deltas = 0
  #sandbox: TimelineItem | undefined
  #generation: TimelineItem | undefined
  #tools: TimelineItem | undefined
  #last = 0

  /** Adds one line of the log, `event` its index in the page's event list; false for a delta (not on the row). */
  add(entry: PerstackEvent | CorruptLine, timestamp: number, event: number): boolean {
    this.#last = Math.max(this.#last, timestamp)
    if ("problem" in entry) {
      this.#mark("unreadable", oneLine(entry.problem, 120), timestamp, event)
      return true
    }
    if (DELTA_TYPES.has(entry.type)) {
      this.deltas++
      return false
    }
    if (this.#generation && !WITHIN_GENERATION.has(entry.type))
      this.#generation = close(this.#generation, timestamp)
    if (this.#tools && (CLOSES_TOOLS.has(entry.type) || isTerminalEvent(entry)))
      this.#tools = close(this.#tools, timestamp)
    this.#place(entry, timestamp, event)
    return true
  }

  /** Closes what is still open (a sandbox whose exit was never recorded) at the segment's end. */
  end(at: number): void {
    const end = Math.max(at, this.#last)
    for (const item of [this.#sandbox, this.#generation, this.#tools]) if (item) close(item, end)
    this.#sandbox = this.#generation = this.#tools = undefined
  }

  #place(entry: PerstackEvent, at: number, event: number): void {
    switch (entry.type) {
      case "sandboxStarted": {
        this.#sandbox = this.#bar("sandbox", `sandbox ${entry.backend} ${entry.sandboxId}`, at, event)
        if (entry.attempt) this.#mark("resume", `retry ${entry.attempt}: its sandbox died`, at, event)
        else if (entry.resumedFrom) this.#mark("resume", `resumed from ${entry.resumedFrom}`, at, event)
        return
      }
      case "sandboxExited": {
        if (this.#sandbox) {
          this.#sandbox.label += ` · ${entry.reason} (exit ${entry.exitCode ?? entry.signal ?? "?"})`
          this.#sandbox = close(this.#sandbox, at)
        }
        if (entry.reason === "completed") this.#mark("event", "sandbox exited", at, event)
        else this.#mark("crash", `sandbox ${entry.reason}`, at, event)
        return
      }
      case "startGeneration":
        this.#generation = this.#bar("generation", `generation · step ${entry.stepNumber}`, at, event)
        return
      case "attemptCompletion":
        // the model is asked for its final answer next, with no startGeneration of its own
        this.#generation = this.#bar(
          "generation",
          `generation · final answer · step ${entry.stepNumber}`,
          at,
          event,
        )
        return
      case "callTools":
        this.#tools = this.#bar("tools", `tools: ${entry.toolCalls.map(toolCallText).join(", ")}`, at, event)
        return
      case "callDelegate":
        this.#mark(
          "delegate",
          `delegates: ${entry.toolCalls.map((call) => call.toolName).join(", ")}`,
          at,
          event,
        )
        return
      case "callInteractiveTool":
        this.#mark("delegate", `asks the user: ${toolCallText(entry.toolCall)}`, at, event)
        return
      case "retry":
        this.#mark("retry", `retry: ${oneLine(entry.reason, 120)}`, at, event)
        return
      case "resumeToolCalls":
        this.#mark("resume", `resumes ${plural(entry.pendingToolCalls.length, "tool call")}`, at, event)
        return
      case "stopRunByError":
        this.#mark("error", `error: ${oneLine(entry.error.message, 120)}`, at, event)
        return
      case "stopRunByDelegate": {
        const delegates = (entry.checkpoint.delegateTo ?? []).map((target) => target.expert.key)
        this.waitFrom = { at, event, delegates }
        this.#mark("delegate", `stops for ${delegates.join(", ")}`, at, event)
        return
      }
      case "completeRun":
        this.#mark("done", `completed: ${oneLine(entry.text, 120)}`, at, event)
        return
      case "outputRejected":
        this.#mark("unreadable", `output rejected: ${entry.reason}`, at, event)
        return
      default:
        this.#mark("event", entry.type, at, event)
        return
    }
  }

  #bar(kind: TimelineKind, label: string, start: number, event: number): TimelineItem {
    const item: TimelineItem = { kind, label, start, event }
    this.items.push(item)
    return item
  }

  #mark(kind: TimelineKind, label: string, start: number, event: number): void {
    this.items.push({ kind, label, start, event })
  }
}

function close(item: TimelineItem, at: number): undefined {
  item.end = Math.max(item.start, at)
  return undefined
}
