// `--filter`'s event types, checked against the protocol's: a typo would otherwise print nothing at all.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { suggest } from "../config/did-you-mean.ts"
import { EVENT_TYPES } from "../log/log-line.ts"

export function checkEventTypes(types: readonly string[]): void {
  for (const type of types) {
    if (EVENT_TYPES.includes(type)) continue
    const near = suggest(type, EVENT_TYPES)
    throw new PerstackError(
      "usage",
      `--filter <types>: "${type}" is not an event type${near ? ` (did you mean "${near}"?)` : ""}; expected some of ${[...EVENT_TYPES].sort().join(", ")}`,
    )
  }
}
