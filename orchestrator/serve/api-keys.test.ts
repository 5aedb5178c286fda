import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { ApiKeys, sha256Hex } from "./api-keys.ts"

describe("ApiKeys", () => {
  it("reads hashed keys from a JSON-lines file and the environment, and names the owner of a presented key", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "perstack-keys-"))
    try {
      const file = path.join(dir, "keys.jsonl")
      await writeFile(file, `# keys\n{"name":"alice","sha256":"${sha256Hex("a-key")}"}\n\n`)
      const keys = await ApiKeys.load({ file, envValue: `bob:${sha256Hex("b-key")}` })
      expect([keys.owner("a-key"), keys.owner("b-key"), keys.owner("nope")]).toEqual([
        "alice",
        "bob",
        undefined,
      ])

      await writeFile(file, `{"name":"carol","sha256":"not-hex"}\n`)
      await expect(ApiKeys.load({ file })).rejects.toThrow(/keys\.jsonl:1: sha256: 64 lowercase hex digits/)
      await expect(ApiKeys.load({ envValue: `x:${sha256Hex("1")},x:${sha256Hex("2")}` })).rejects.toThrow(
        /given twice/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
