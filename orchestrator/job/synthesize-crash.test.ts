import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import { synthesizeCrash } from "./synthesize-crash.ts"

let counter = 0
const ids = () => `id${++counter}`

describe("the stopRunByError written for a sandbox that died", () => {
  it("says a sandbox killed for memory ran out of memory, naming its limit and the setting, not 'signal SIGKILL'", () => {
    const spec = buildRunSpec({ workspace: "/tmp", llmUrl: "http://127.0.0.1:9/v1", runId: "r1" })
    const terminal = synthesizeCrash({
      spec,
      exit: {
        exitCode: 137,
        signal: "SIGKILL",
        reason: "oomKilled",
        stderrTail: "hungry: eating\n",
        durationMs: 900,
        memoryLimitBytes: 64 * 1024 ** 2,
      },
      lastCheckpoint: undefined,
      ids,
      clock: () => 1,
      stopCause: undefined,
    })
    expect(terminal.error).toMatchObject({ code: "sandbox.oomKilled", isRetryable: true })
    expect(terminal.error.message).toBe(
      `the sandbox ran out of memory: it went over its limit of 64 MiB and was killed; raise [experts."${spec.expert.key}".sandbox] memory in perstack.toml, or have the Expert's tools use less; the end of its stderr:\nhungry: eating`,
    )
    expect(terminal.error.message).not.toContain("SIGKILL")
  })
})
