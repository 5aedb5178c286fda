// Bearer API keys, kept only as SHA-256 hashes: from a JSON-lines file and/or an environment variable.
import { createHash, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { z } from "zod"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

/** `name:sha256hex` pairs, comma-separated. */
export const API_KEYS_ENV = "PERSTACK_API_KEYS"

const keyRecordSchema = z.strictObject({
  /** who the key belongs to: owns the jobs started with it; shown in logs instead of the key */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, '.', '_' and '-' (1 to 64)"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits"),
})
type KeyRecord = z.infer<typeof keyRecordSchema>

export const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

function parseRecord(value: unknown, where: string): KeyRecord {
  const result = keyRecordSchema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  throw new PerstackError(
    "serve.apiKeys",
    `${where}: ${issue?.path.join(".") || "(line)"}: ${issue?.message}`,
  )
}

export class ApiKeys {
  readonly #keys: { name: string; hash: Buffer }[]

  constructor(records: readonly KeyRecord[]) {
    this.#keys = records.map((record) => ({ name: record.name, hash: Buffer.from(record.sha256, "hex") }))
  }

  get size(): number {
    return this.#keys.length
  }

  /** The key's owner name, or undefined. Every stored hash is compared, in constant time, whatever matches. */
  owner(token: string): string | undefined {
    const presented = createHash("sha256").update(token, "utf8").digest()
    let found: string | undefined
    for (const key of this.#keys) {
      if (timingSafeEqual(presented, key.hash) && found === undefined) found = key.name
    }
    return found
  }

  /** Reads `{ "name": ..., "sha256": ... }` lines from `file` and `name:sha256` pairs from `envValue`. */
  static async load(options: { file?: string; envValue?: string }): Promise<ApiKeys> {
    const records: KeyRecord[] = []
    if (options.file) {
      const text = await readFile(options.file, "utf8")
      text.split("\n").forEach((line, index) => {
        const trimmed = line.trim()
        if (trimmed === "" || trimmed.startsWith("#")) return
        const where = `${options.file}:${index + 1}`
        let json: unknown
        try {
          json = JSON.parse(trimmed)
        } catch {
          throw new PerstackError(
            "serve.apiKeys",
            `${where}: not JSON (one {"name", "sha256"} object per line)`,
          )
        }
        records.push(parseRecord(json, where))
      })
    }
    for (const [index, pair] of (options.envValue ?? "").split(",").entries()) {
      if (pair.trim() === "") continue
      const colon = pair.indexOf(":")
      records.push(
        parseRecord(
          { name: pair.slice(0, colon).trim(), sha256: pair.slice(colon + 1).trim() },
          `${API_KEYS_ENV} entry ${index + 1} (name:sha256)`,
        ),
      )
    }
    const names = new Set<string>()
    for (const record of records) {
      if (names.has(record.name))
        throw new PerstackError("serve.apiKeys", `API key name "${record.name}" is given twice`)
      names.add(record.name)
    }
    return new ApiKeys(records)
  }
}
