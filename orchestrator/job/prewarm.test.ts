// Warm sandboxes on the isolated local backend: a coordinator, its delegate and its own resume run in sandboxes started
// ahead of them, which got their run's gateway token only when claimed (never in their environment).
import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { bubblewrapStatus } from "../sandbox/local/bubblewrap.ts"
import { descendantsOf } from "../sandbox/local/process-tree.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const bwrap = await bubblewrapStatus()
if (!bwrap.available && process.env.PERSTACK_ISOLATION_TESTS === "required") throw new Error(bwrap.reason)

const TEAM = `[experts."lead"]
instruction = "Lead."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

/** Reads the environment every ancestor process started with: was one started warm, did one start with a token? */
const PROBE = `
import { readFileSync } from "node:fs"
let pid = process.ppid
let warm = false
let token = false
while (pid > 0) {
  const environ = readFileSync("/proc/" + pid + "/environ", "utf8").split("\\0")
  warm ||= environ.includes("PERSTACK_WARM=1")
  token ||= environ.some((entry) => entry.includes("=pgw-"))
  pid = Number(/PPid:\\s+(\\d+)/.exec(readFileSync("/proc/" + pid + "/status", "utf8"))[1])
}
console.log("warm=" + warm + " token=" + token)`
const probe = { name: "exec", arguments: { command: "node", args: ["--input-type=module", "-e", PROBE] } }

describe.skipIf(!bwrap.available)("warm sandboxes (isolated local)", () => {
  it("run the coordinator, its delegate and its resume, each given its gateway token only when claimed", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [probe] },
        { toolCalls: [{ name: "delegate__worker", arguments: { query: "probe" } }] },
        { toolCalls: [probe] },
        { text: "done" },
      ],
      worker: [{ toolCalls: [probe] }, { text: "probed" }],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "go",
      settings: { gateway: true },
    })
    expect(result.status, result.error).toBe("completed")
    const said = (request: Parameters<typeof lastInput>[0] | undefined) =>
      /warm=\w+ token=\w+/.exec(request ? lastInput(request) : "")?.[0]
    const [, leadFirst, , leadResumed] = llm.byExpert("lead")
    const [, worker] = llm.byExpert("worker")
    // Sandboxes of the same shape serve either Expert: the one warmed for the delegate while the job started served the
    // coordinator's first run, and every later one was warmed while the run before it worked.
    expect(said(leadFirst)).toBe("warm=true token=false")
    expect(said(worker)).toBe("warm=true token=false")
    expect(said(leadResumed)).toBe("warm=true token=false")
  })

  it("start the coordinator's sandbox with the job, before its first segment, though its delegates differ in shape", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ lead: [{ toolCalls: [probe] }, { text: "done" }] })
    // The worker's locked-down network gives its sandboxes another shape: none warmed for it can serve the lead.
    const team = `${TEAM}[experts."worker".sandbox]\nnetwork = "gateway"\n`
    const result = await runTestJob(ws, {
      toml: configText(llm.url, team),
      expertKey: "lead",
      query: "go",
      settings: { gateway: true },
    })
    expect(result.status, result.error).toBe("completed")
    const [, leadFirst] = llm.byExpert("lead")
    expect(/warm=\w+ token=\w+/.exec(leadFirst ? lastInput(leadFirst) : "")?.[0]).toBe(
      "warm=true token=false",
    )
  })

  it("start none for a refused job: no process of it is left", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ lead: [{ text: "done" }] })
    const toml = configText(llm.url, TEAM)
    const first = await runTestJob(ws, { toml, expertKey: "lead", query: "go", jobId: "taken" })
    expect(first.status, first.error).toBe("completed")
    const again = runTestJob(ws, { toml, expertKey: "lead", query: "again", jobId: "taken" })
    await expect(again).rejects.toThrow(PerstackError)
    await expect(again).rejects.toMatchObject({ code: "job.exists" })
    const ofTheJob = await Promise.all(
      (await descendantsOf(process.pid)).map(async (pid) =>
        (await readFile(`/proc/${pid}/environ`, "utf8").catch(() => ""))
          .split("\0")
          .includes("PERSTACK_JOB_ID=taken"),
      ),
    )
    expect(ofTheJob.filter(Boolean)).toEqual([])
  })
})
