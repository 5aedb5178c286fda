// `--filter '.path op value'`: parsed once (errors name the position), then evaluated against each event.
// `[]` maps over an array and the condition holds when any element matches; `[n]` picks one element.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

type Operator = "==" | "!=" | ">" | ">=" | "<" | "<="
type Literal = string | number | boolean | null
type Segment = { kind: "key"; key: string } | { kind: "each" } | { kind: "index"; index: number }

export interface FilterExpression {
  source: string
  path: Segment[]
  operator: Operator
  value: Literal
}

const OPERATORS: readonly Operator[] = ["==", "!=", ">=", "<=", ">", "<"]
const IDENT_START = /[A-Za-z_$]/
const IDENT_PART = /[A-Za-z0-9_$-]/
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/

export function parseFilterExpression(source: string): FilterExpression {
  let at = 0
  const fail = (what: string, position = at, hint?: string): never => {
    const caret = `${" ".repeat(position)}^`
    const where = `at position ${position + 1}${hint ? `; ${hint}` : ""}`
    throw new PerstackError("log.badFilter", `--filter: ${what} ${where}\n  ${source}\n  ${caret}`)
  }
  const skipSpace = () => {
    while (at < source.length && /\s/.test(source[at] as string)) at++
  }
  const quoted = (): string => {
    const start = at
    const quote = source[at]
    at++
    let text = ""
    while (at < source.length && source[at] !== quote) {
      if (source[at] === "\\") {
        text += source.slice(at, at + 2)
        at += 2
      } else text += source[at++]
    }
    if (at >= source.length) fail("unterminated string", start)
    at++
    if (quote === "'") return text.replace(/\\(['\\])/g, "$1")
    try {
      return JSON.parse(`"${text}"`) as string
    } catch {
      return fail("invalid escape in string", start)
    }
  }

  skipSpace()
  const path: Segment[] = []
  if (source[at] !== ".") fail('expected a path starting with "." (for example .type)')
  while (at < source.length && (source[at] === "." || source[at] === "[")) {
    if (source[at] === ".") {
      at++
      if (source[at] === "[") continue
      if (!IDENT_START.test(source[at] ?? "")) fail("expected a field name after '.'")
      const start = at
      while (at < source.length && IDENT_PART.test(source[at] as string)) at++
      path.push({ kind: "key", key: source.slice(start, at) })
      continue
    }
    at++
    if (source[at] === "]") {
      at++
      path.push({ kind: "each" })
      continue
    }
    if (source[at] === '"' || source[at] === "'") path.push({ kind: "key", key: quoted() })
    else {
      const digits = /^\d+/.exec(source.slice(at))?.[0]
      if (!digits) fail('expected "]", an index or a quoted key inside [ ]')
      path.push({ kind: "index", index: Number(digits) })
      at += (digits as string).length
    }
    if (source[at] !== "]") fail('expected "]"')
    at++
  }
  if (path.length === 0) fail("expected a field name after '.'", at)

  skipSpace()
  const operator = OPERATORS.find((candidate) => source.startsWith(candidate, at))
  if (!operator) {
    fail(
      `expected an operator (${OPERATORS.join(" ")})`,
      at,
      source[at] === "=" ? 'did you mean "=="?' : undefined,
    )
  }
  at += (operator as Operator).length

  skipSpace()
  if (at >= source.length) fail("expected a value (a number, true, false, null or a quoted string)")
  let value: Literal
  const rest = source.slice(at)
  const word = /^[A-Za-z_]\w*/.exec(rest)?.[0]
  if (source[at] === '"' || source[at] === "'") value = quoted()
  else if (word === "true" || word === "false" || word === "null") {
    value = word === "null" ? null : word === "true"
    at += word.length
  } else if (NUMBER.test(rest)) {
    const number = (NUMBER.exec(rest) as RegExpExecArray)[0]
    value = Number(number)
    at += number.length
  } else if (word) {
    return fail("expected a value", at, `quote strings: "${word}"`)
  } else {
    return fail("expected a value (a number, true, false, null or a quoted string)")
  }
  skipSpace()
  if (at < source.length) fail("unexpected text after the value")
  return { source, path, operator: operator as Operator, value }
}

/** True when any value the path reaches compares true with the expression's value. */
export function evaluateFilter(expression: FilterExpression, root: unknown): boolean {
  const leaves: unknown[] = []
  collect(root, expression.path, 0, leaves)
  return leaves.some((leaf) => compare(leaf, expression.operator, expression.value))
}

function collect(value: unknown, path: readonly Segment[], index: number, out: unknown[]): void {
  if (value === undefined) return
  const segment = path[index]
  if (!segment) {
    // A path that ends on an array matches on its elements, as in the original.
    if (Array.isArray(value)) out.push(...value)
    else out.push(value)
    return
  }
  if (segment.kind === "each") {
    if (Array.isArray(value)) for (const item of value) collect(item, path, index + 1, out)
  } else if (segment.kind === "index") {
    if (Array.isArray(value)) collect(value[segment.index], path, index + 1, out)
  } else if (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.hasOwn(value, segment.key)
  ) {
    collect((value as Record<string, unknown>)[segment.key], path, index + 1, out)
  }
}

function compare(actual: unknown, operator: Operator, expected: Literal): boolean {
  switch (operator) {
    case "==":
      return actual === expected
    case "!=":
      return actual !== expected
    default: {
      const comparable =
        (typeof actual === "number" && typeof expected === "number") ||
        (typeof actual === "string" && typeof expected === "string")
      if (!comparable) return false
      const [a, b] = [actual as number | string, expected as number | string]
      return operator === ">" ? a > b : operator === ">=" ? a >= b : operator === "<" ? a < b : a <= b
    }
  }
}

const ESCAPED_UNICODE = Buffer.from("\\u")
const ESCAPED_SLASH = Buffer.from("\\/")

/**
 * A cheap test on a line's bytes that can only rule lines out: for `== "text"`, a line that contains
 * neither the JSON-encoded text nor any escape that could spell it differently cannot match.
 */
export function filterPrefilter(expression: FilterExpression): ((line: Buffer) => boolean) | undefined {
  if (expression.operator !== "==" || typeof expression.value !== "string") return undefined
  const encoded = JSON.stringify(expression.value)
  if (encoded.includes("\\")) return undefined
  const needle = Buffer.from(encoded)
  const slash = expression.value.includes("/")
  return (line) =>
    line.indexOf(needle) !== -1 ||
    line.indexOf(ESCAPED_UNICODE) !== -1 ||
    (slash && line.indexOf(ESCAPED_SLASH) !== -1)
}
