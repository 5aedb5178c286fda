// Parsers for command-line values: each refuses bad input with the option's name and what was expected.
import { InvalidArgumentError } from "commander"
import { SANDBOX_BACKENDS, type SandboxBackend } from "../../runtime/protocol/config/perstack-toml.ts"
import {
  PROVIDER_NAMES,
  type ProviderName,
  type ReasoningBudget,
} from "../../runtime/protocol/config/provider.ts"
import { suggest } from "../config/did-you-mean.ts"
import { EVENT_TYPES } from "../log/log-line.ts"

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

/** `--filter callTools,completeRun`: a comma list of the protocol's event types (a typo would print nothing). */
export function eventTypeList(value: string, previous: string[] = []): string[] {
  const types = commaList(value)
  for (const type of types) {
    if (EVENT_TYPES.includes(type)) continue
    const near = suggest(type, EVENT_TYPES)
    throw new InvalidArgumentError(
      `"${type}" is not an event type${near ? ` (did you mean "${near}"?)` : ""}; expected some of ${[...EVENT_TYPES].sort().join(", ")}`,
    )
  }
  return [...previous, ...types]
}
