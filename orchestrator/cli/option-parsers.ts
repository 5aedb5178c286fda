// Parsers for command-line values: each refuses bad input with the option's name and what was expected.
import { InvalidArgumentError } from "commander"
import {
  PROVIDER_NAMES,
  type ProviderName,
  SANDBOX_BACKENDS,
  type SandboxBackend,
} from "../../runtime/protocol/config/names.ts"
import type { ReasoningBudget } from "../../runtime/protocol/config/provider.ts"

export function positiveInt(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError("expected a positive whole number")
  return number
}

export function nonNegativeInt(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0)
    throw new InvalidArgumentError("expected a whole number, 0 or more")
  return number
}

export function reasoningBudget(value: string): ReasoningBudget {
  if (["none", "minimal", "low", "medium", "high"].includes(value)) return value as ReasoningBudget
  const number = Number(value)
  if (Number.isInteger(number) && number >= 0) return number
  throw new InvalidArgumentError("expected none, minimal, low, medium, high, or a number of tokens")
}

export function providerName(value: string): ProviderName {
  if ((PROVIDER_NAMES as readonly string[]).includes(value)) return value as ProviderName
  throw new InvalidArgumentError(`expected one of ${PROVIDER_NAMES.join(", ")}`)
}

export function sandboxName(value: string): SandboxBackend {
  if ((SANDBOX_BACKENDS as readonly string[]).includes(value)) return value as SandboxBackend
  throw new InvalidArgumentError(`expected one of ${SANDBOX_BACKENDS.join(", ")}`)
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  ]
}

/**
 * `--filter callTools,completeRun`: a comma list, checked against the protocol's event types when the command runs
 * (see checkEventTypes), so that parsing the command line loads no schema.
 */
export function eventTypeList(value: string, previous: string[] = []): string[] {
  return commaList(value, previous)
}
