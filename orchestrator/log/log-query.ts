// A `perstack log` invocation checked and parsed: every bad value is refused here, with the option's name.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { MatchOptions } from "./event-matcher.ts"
import { parseFilterExpression } from "./filter-expression.ts"
import { isSafeId } from "./job-records.ts"
import { EVENT_TYPES } from "./log-line.ts"
import type { LogOptions } from "./log-options.ts"
import { parseStepRange } from "./step-range.ts"

export const DEFAULT_TAKE = 100

export interface LogQuery {
  jobId?: string
  runId?: string
  checkpointId?: string
  match: MatchOptions
  /** a filter of any kind was given (the default view then shows no tree) */
  filtered: boolean
  take: number
  offset: number
  context: number
  messages: boolean
  summary: boolean
  json: boolean
  pretty: boolean
  verbose: boolean
  tree: boolean
  /** the file the HTML page goes to (`-`: stdout) */
  html?: string
}

/** What --html draws is the whole job: it takes no option that selects or formats events. */
const NOT_WITH_HTML: ReadonlyArray<keyof LogOptions> = [
  "run",
  "checkpoint",
  "step",
  "type",
  "errors",
  "tools",
  "delegations",
  "filter",
  "take",
  "offset",
  "context",
  "messages",
  "summary",
  "json",
  "pretty",
  "verbose",
  "tree",
]

export function parseLogQuery(options: LogOptions): LogQuery {
  const ids = {
    jobId: checkId("job", options.job),
    runId: checkId("run", options.run),
    checkpointId: checkId("checkpoint", options.checkpoint),
  }
  if (options.type !== undefined && !EVENT_TYPES.includes(options.type)) {
    throw new PerstackError(
      "log.badType",
      `--type ${JSON.stringify(options.type)}: not an event type (one of ${[...EVENT_TYPES].sort().join(", ")})`,
    )
  }
  if (options.messages && !options.checkpoint) {
    throw new PerstackError(
      "log.badOption",
      "--messages shows a checkpoint's messages: give --checkpoint <id>",
    )
  }
  if (options.html !== undefined) {
    if (options.html === "")
      throw new PerstackError("log.badOption", "--html: give a file name (or - for stdout)")
    const clash = NOT_WITH_HTML.filter((key) => options[key] !== undefined)
    if (clash.length > 0)
      throw new PerstackError(
        "log.badOption",
        `--html draws the whole job: it takes only --job and --workspace, not ${clash.map((key) => `--${key}`).join(", ")}`,
      )
  }
  const match: MatchOptions = {
    ...(options.type !== undefined ? { types: [options.type] } : {}),
    ...(options.errors ? { errors: true } : {}),
    ...(options.tools ? { tools: true } : {}),
    ...(options.delegations ? { delegations: true } : {}),
    ...(options.step !== undefined ? { step: parseStepRange(options.step) } : {}),
    ...(options.filter !== undefined ? { filter: parseFilterExpression(options.filter) } : {}),
  }
  return {
    ...Object.fromEntries(Object.entries(ids).filter(([, id]) => id !== undefined)),
    match,
    filtered: Object.keys(match).length > 0,
    take: count("take", options.take ?? DEFAULT_TAKE),
    offset: count("offset", options.offset ?? 0),
    context: count("context", options.context ?? 0),
    messages: options.messages === true,
    summary: options.summary === true,
    json: options.json === true,
    pretty: options.pretty === true,
    verbose: options.verbose === true,
    tree: options.tree === true,
    ...(options.html !== undefined ? { html: options.html } : {}),
  }
}

function checkId(kind: string, id: string | undefined): string | undefined {
  if (id === undefined) return undefined
  if (!isSafeId(id)) {
    throw new PerstackError(
      "log.badId",
      `--${kind} ${JSON.stringify(id)}: not a ${kind} id (letters, digits, ".", "_" and "-")`,
    )
  }
  return id
}

function count(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PerstackError("log.badOption", `--${option} ${value}: expected a whole number, 0 or more`)
  }
  return value
}
