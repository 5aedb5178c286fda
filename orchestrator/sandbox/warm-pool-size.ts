// How many sandboxes a backend's warm pool may keep ahead of their runs, from its environment variable.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

/** `name`'s value: default 4, 0 turns the pool off; anything but a whole number is refused, naming the variable. */
export function warmPoolSize(name: string, value: string | undefined = process.env[name]): number {
  if (value === undefined || value === "") return 4
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0) {
    throw new PerstackError("usage", `${name}="${value}": expected a whole number, 0 or more`)
  }
  return number
}
