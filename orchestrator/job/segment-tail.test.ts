// A delegate's answer goes back to its parent once its terminal event is stored, not once its sandbox has exited; the
// sandbox is still waited for, and its exit and run record written, before the job ends.
import { describe, expect, it } from "vitest"
import { createLocalBackend } from "../sandbox/local/local-backend.ts"
import type { Sandbox, SandboxBackend } from "../sandbox/sandbox.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, RUNTIME_SOURCE, runTestJob } from "../testing/job-harness.ts"

const TEAM = `[experts."lead"]
instruction = "Lead."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

/** The worker's sandbox is seen to exit only once the lead's resume has started (or after a while, not to hang). */
function exitHeldUntilResume(backend: SandboxBackend) {
  let resumeStarted = () => {}
  const resumed = new Promise<void>((resolve) => {
    resumeStarted = resolve
  })
  const order: string[] = []
  const watched: SandboxBackend = {
    ...backend,
    name: backend.name,
    start: async (start) => {
      const sandbox = await backend.start(start)
      const run = `${start.spec.expert.key} ${start.spec.input.type}`
      if (run === "lead resume") resumeStarted()
      order.push(`started ${run}`)
      if (start.spec.expert.key !== "worker") return sandbox
      const held: Sandbox = {
        ...sandbox,
        stdout: sandbox.stdout,
        wait: async () => {
          const exit = await sandbox.wait()
          await Promise.race([resumed, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
          order.push("worker exited")
          return exit
        },
      }
      return held
    },
  }
  return { watched, order }
}

describe("a segment's tail", () => {
  it("resumes the parent before the delegate's sandbox is seen to exit, and still records that exit", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [{ toolCalls: [{ name: "delegate__worker", arguments: { query: "work" } }] }, { text: "done" }],
      worker: [{ text: "worked" }],
    })
    const backend = exitHeldUntilResume(createLocalBackend({ runtimeEntry: RUNTIME_SOURCE }))
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "go",
      wrapBackend: () => backend.watched,
    })
    expect(result.status, result.error).toBe("completed")
    expect(result.text).toBe("done")
    expect(backend.order.indexOf("started lead resume")).toBeLessThan(backend.order.indexOf("worker exited"))
    // The delegate's run is closed as before: its exit recorded, its record finished, by the time the job ends.
    const runs = await ws.store.listRuns(result.job.id)
    const worker = runs.find((run) => run.expertKey === "worker")
    expect(worker?.status).toBe("completed")
    expect(worker?.finishedAt).toBeDefined()
    const exited = result.events.filter(
      (event) => event.type === ("sandboxExited" as string) && event.runId === worker?.id,
    )
    expect(exited).toHaveLength(1)
  })
})
