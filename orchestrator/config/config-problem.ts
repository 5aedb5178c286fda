// A problem found in a config file, and how it prints: file:line:col, the key path, what was expected.
import type { ErrorCode } from "../../runtime/errors/error-codes.ts"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { KeyPath } from "./toml-locator.ts"

export interface ConfigProblem {
  file: string
  line?: number
  column?: number
  /** empty for problems of the whole file */
  path: KeyPath
  message: string
  /** the offending source line(s), already formatted */
  excerpt?: string
}

const RECORD_TABLES = new Set(["experts", "skills", "tools", "headers"])

/** `experts."fitness-assistant".delegates[0]`: record keys quoted, fields bare, indices in brackets. */
export function formatKeyPath(path: KeyPath): string {
  let text = ""
  path.forEach((segment, index) => {
    if (typeof segment === "number") text += `[${segment}]`
    else {
      const parent = path[index - 1]
      const quote =
        (typeof parent === "string" && RECORD_TABLES.has(parent)) || !/^[A-Za-z0-9_-]+$/.test(segment)
      text += `${index === 0 ? "" : "."}${quote ? JSON.stringify(segment) : segment}`
    }
  })
  return text
}

export function formatProblem(problem: ConfigProblem): string {
  const where = [problem.file, problem.line, problem.line !== undefined ? (problem.column ?? 1) : undefined]
    .filter((part) => part !== undefined)
    .join(":")
  const key = problem.path.length > 0 ? `${formatKeyPath(problem.path)}: ` : ""
  const excerpt = problem.excerpt ? `\n${problem.excerpt}` : ""
  return `${where}: ${key}${problem.message}${excerpt}`
}

export class ConfigError extends PerstackError {
  override readonly name = "ConfigError"
  readonly problems: readonly ConfigProblem[]

  constructor(code: ErrorCode, problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(code, problems.map(formatProblem).join("\n"), options)
    this.problems = problems
  }
}
