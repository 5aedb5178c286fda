// Lists the keys a zod object schema accepts at a key path, for "did you mean" on unknown keys.
import type { z } from "zod"
import type { KeyPath } from "./toml-locator.ts"

interface Def {
  type: string
  shape?: Record<string, z.ZodType>
  innerType?: z.ZodType
  in?: z.ZodType
  valueType?: z.ZodType
  element?: z.ZodType
  options?: z.ZodType[]
  discriminator?: string
  values?: unknown[]
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def

/** Peel optional/default/pipe wrappers; choose a discriminated union's branch from the data. */
function unwrap(schema: z.ZodType, value: unknown): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema
  for (let guard = 0; current && guard < 20; guard++) {
    const def = defOf(current)
    if (def.innerType) current = def.innerType
    else if (def.type === "pipe" && def.in) current = def.in
    else if (def.type === "union" && def.options) {
      const key = def.discriminator
      const wanted =
        key && typeof value === "object" && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined
      current = def.options.find((option) => {
        const literal = key ? defOf(option).shape?.[key] : undefined
        return literal ? (defOf(literal).values ?? []).includes(wanted) : false
      })
    } else return current
  }
  return current
}

export function knownKeysAt(schema: z.ZodType, path: KeyPath, data: unknown): string[] {
  let current = unwrap(schema, data)
  let value = data
  for (const segment of path) {
    if (!current) return []
    const def = defOf(current)
    value =
      typeof value === "object" && value !== null
        ? (value as Record<string | number, unknown>)[segment]
        : undefined
    const next: z.ZodType | undefined =
      def.type === "object"
        ? def.shape?.[String(segment)]
        : def.type === "record"
          ? def.valueType
          : def.type === "array"
            ? def.element
            : undefined
    current = next ? unwrap(next, value) : undefined
  }
  const shape = current ? defOf(current).shape : undefined
  return shape ? Object.keys(shape) : []
}
