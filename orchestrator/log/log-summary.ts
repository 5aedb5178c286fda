// The summary of the events a query matched: counts by kind and by type, and the steps they span.
import { DELEGATION_TYPES, isErrorLine, TOOL_TYPES } from "./event-matcher.ts"
import type { LogLine } from "./log-line.ts"

export interface LogSummary {
  totalEvents: number
  errorCount: number
  toolCallCount: number
  delegationCount: number
  stepRange?: { min: number; max: number }
  /** events per type; lines that are not valid events count under "(unreadable)" */
  byType: Record<string, number>
}

export class SummaryCounter {
  #total = 0
  #errors = 0
  #tools = 0
  #delegations = 0
  #minStep = Number.POSITIVE_INFINITY
  #maxStep = Number.NEGATIVE_INFINITY
  readonly #byType = new Map<string, number>()

  add(line: LogLine): void {
    this.#total++
    const type = line.type
    this.#byType.set(type ?? "(unreadable)", (this.#byType.get(type ?? "(unreadable)") ?? 0) + 1)
    if (isErrorLine(line)) this.#errors++
    if (type !== undefined && TOOL_TYPES.has(type)) this.#tools++
    if (type !== undefined && DELEGATION_TYPES.has(type)) this.#delegations++
    const step = line.stepNumber
    if (step !== undefined) {
      if (step < this.#minStep) this.#minStep = step
      if (step > this.#maxStep) this.#maxStep = step
    }
  }

  result(): LogSummary {
    return {
      totalEvents: this.#total,
      errorCount: this.#errors,
      toolCallCount: this.#tools,
      delegationCount: this.#delegations,
      ...(this.#minStep <= this.#maxStep ? { stepRange: { min: this.#minStep, max: this.#maxStep } } : {}),
      byType: Object.fromEntries([...this.#byType].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    }
  }
}
