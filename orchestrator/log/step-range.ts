// `--step`: `5`, `>5`, `>=5`, `<5`, `<=5` or `1-10`, as an inclusive range of job-global step numbers.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

export interface StepRange {
  min: number
  max: number
}

const FORMS = "a step number (5), a comparison (>5, >=5, <5, <=5) or a range (1-10)"

export function parseStepRange(expression: string): StepRange {
  const text = expression.trim()
  const fail = (why: string): never => {
    throw new PerstackError("log.badStep", `--step ${JSON.stringify(expression)}: ${why}`)
  }
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(text)
  if (range) {
    const min = toStep(range[1] as string, fail)
    const max = toStep(range[2] as string, fail)
    if (min > max) fail(`the range starts after it ends (${min} > ${max})`)
    return { min, max }
  }
  const compare = /^(>=|<=|>|<|=)?\s*(\d+)$/.exec(text)
  if (!compare) return fail(`expected ${FORMS}`)
  const value = toStep(compare[2] as string, fail)
  switch (compare[1]) {
    case ">":
      return { min: value + 1, max: Number.POSITIVE_INFINITY }
    case ">=":
      return { min: value, max: Number.POSITIVE_INFINITY }
    case "<":
      return { min: 0, max: value - 1 }
    case "<=":
      return { min: 0, max: value }
    default:
      return { min: value, max: value }
  }
}

function toStep(digits: string, fail: (why: string) => never): number {
  const value = Number(digits)
  if (!Number.isSafeInteger(value)) fail(`${digits} is too large for a step number`)
  return value
}

export function inStepRange(stepNumber: number | undefined, range: StepRange): boolean {
  return stepNumber !== undefined && stepNumber >= range.min && stepNumber <= range.max
}
