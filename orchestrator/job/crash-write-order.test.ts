// A crashed run's terminal event is heard only once the checkpoint it names is on disk, as for any other event.
import { existsSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const WORKER = `[experts."worker"]
instruction = "Work."
`

const checkpointOnDisk = (workspace: string, event: PerstackEvent) =>
  "checkpoint" in event &&
  existsSync(path.join(workspace, "perstack/jobs", event.jobId, "checkpoints", `${event.checkpoint.id}.json`))

describe("a crashed sandbox's terminal event", () => {
  it("names a checkpoint that is already stored when the event is stored and heard", async () => {
    await using ws = await makeJobWorkspace()
    const heard: Array<{ type: string; code?: string; stored: boolean }> = []
    let sandboxPid = 0
    await using llm = await startExpertScript({
      worker: [
        () => {
          process.kill(sandboxPid, "SIGKILL")
          return { type: "stall" as const }
        },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, WORKER),
      expertKey: "worker",
      query: "Go",
      settings: { crashRetries: 0 },
      onEvent: (event) => {
        if (event.type === "sandboxStarted") sandboxPid = Number(event.sandboxId.replace("pid:", ""))
        if (event.type === "stopRunByError") {
          heard.push({ type: event.type, code: event.error.code, stored: checkpointOnDisk(ws.dir, event) })
        }
      },
    })
    expect(result.status).toBe("stoppedByError")
    expect(heard).toEqual([{ type: "stopRunByError", code: "sandbox.crashed", stored: true }])
  })

  it("names a stored checkpoint when the sandbox could not start at all", async () => {
    await using ws = await makeJobWorkspace()
    const heard: boolean[] = []
    await using llm = await startExpertScript({ worker: [{ text: "unused" }] })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, WORKER),
      expertKey: "worker",
      query: "Go",
      backend: { runtimeEntry: path.join(ws.dir, "no-such-runtime.ts") },
      settings: { crashRetries: 0 },
      onEvent: (event) => {
        if (event.type === "stopRunByError") heard.push(checkpointOnDisk(ws.dir, event))
      },
    })
    expect(result.status).toBe("stoppedByError")
    expect(heard).toEqual([true])
  })
})
