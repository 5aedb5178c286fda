// Which lines a `perstack log` query selects: kinds of events (--type, --errors, --tools, --delegations), a step
// range and a filter expression. Kinds are alternatives (any of them); the step range and the filter must also hold.
import { evaluateFilter, type FilterExpression, filterPrefilter } from "./filter-expression.ts"
import type { LogLine } from "./log-line.ts"
import { inStepRange, type StepRange } from "./step-range.ts"

export const TOOL_TYPES: ReadonlySet<string> = new Set([
  "callTools",
  "resolveToolResults",
  "callInteractiveTool",
])
export const DELEGATION_TYPES: ReadonlySet<string> = new Set(["callDelegate", "stopRunByDelegate"])
const ALWAYS_ERRORS: ReadonlySet<string> = new Set(["stopRunByError", "retry", "outputRejected"])
/** The streaming deltas the text view folds into one line per stream. */
export const DELTA_TYPES: ReadonlySet<string> = new Set(["streamReasoning", "streamRunResult"])

/** An error: a failed run, a retry, a rejected line, a sandbox that did not end normally, or an unreadable line. */
export function isErrorLine(line: LogLine): boolean {
  const type = line.type
  // Not even a type to read, or over the size cap: unreadable. (Other invalid lines show as such when listed;
  // finding them all would mean validating every line.)
  if (type === undefined || line.truncatedFrom !== undefined) return true
  if (ALWAYS_ERRORS.has(type)) return true
  if (type !== "sandboxExited") return false
  const value = line.value() as { reason?: unknown } | undefined
  return value?.reason !== "completed"
}

export interface MatchOptions {
  types?: readonly string[]
  errors?: boolean
  tools?: boolean
  delegations?: boolean
  step?: StepRange
  filter?: FilterExpression
}

export type LineMatcher = (line: LogLine) => boolean

/** A line matcher; undefined when the query selects every line (so nothing needs to be looked at). */
export function buildMatcher(options: MatchOptions): LineMatcher | undefined {
  const types = new Set(options.types ?? [])
  if (options.tools) for (const type of TOOL_TYPES) types.add(type)
  if (options.delegations) for (const type of DELEGATION_TYPES) types.add(type)
  const byKind = types.size > 0 || options.errors === true
  const { step, filter } = options
  if (!byKind && !step && !filter) return undefined
  const prefilter = filter ? filterPrefilter(filter) : undefined
  return (line) => {
    if (byKind) {
      const type = line.type
      const kind = (type !== undefined && types.has(type)) || (options.errors === true && isErrorLine(line))
      if (!kind) return false
    }
    if (step && !inStepRange(line.stepNumber, step)) return false
    if (filter) {
      if (prefilter && !prefilter(line.bytes)) return false
      const value = line.value()
      if (value === undefined || !evaluateFilter(filter, value)) return false
    }
    return true
  }
}
