import { writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { perstackCli } from "../testing/cli-harness.ts"
import { makeJobWorkspace } from "../testing/job-harness.ts"

const KEYS = `a:${"a".repeat(64)},b:${"b".repeat(64)}`

describe("perstack serve with local sandboxes that cannot be isolated", () => {
  it("refuses to serve several API keys, saying why and what to do, unless told otherwise", async () => {
    await using ws = await makeJobWorkspace()
    await writeFile(path.join(ws.dir, "perstack.toml"), `[experts."x"]\ninstruction = "X."\n`)
    const env = { PERSTACK_API_KEYS: KEYS, PERSTACK_LOCAL_ISOLATION: "off" }
    const refused = await perstackCli(
      ws.dir,
      ["serve", "--root", path.join(ws.dir, "root"), "--port", "0"],
      env,
    )
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("2 API keys, but local sandboxes are not isolated")
    expect(refused.stderr).toContain("--allow-unisolated")
  })
})
