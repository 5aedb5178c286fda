// Warm sandboxes on the isolated local backend: a coordinator, its delegate and its own resume run in sandboxes started
// ahead of them, which got their run's gateway token only when claimed (never in their environment).
import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { bubblewrapStatus } from "../sandbox/local/bubblewrap.ts"
import { createLocalBackend } from "../sandbox/local/local-backend.ts"
import { descendantsOf } from "../sandbox/local/process-tree.ts"
import type { SandboxBackend } from "../sandbox/sandbox.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, RUNTIME_SOURCE, runTestJob } from "../testing/job-harness.ts"

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

/**
 * A pool kept the way the local backend keeps its own (filled up to the count asked for, one launched in place of each
 * taken): which sandbox each run got, and what had started when that sandbox was asked for.
 */
function watchedPool(backend: SandboxBackend) {
  const waiting: { startedBefore: number }[] = []
  const claims: {
    expertKey: string
    inputType: string /** runs started when its sandbox was asked for */
    startedBefore?: number
  }[] = []
  /** each launch: how many runs had started then */
  const launches: number[] = []
  const fill = (count: number) => {
    while (waiting.length < count) {
      waiting.push({ startedBefore: claims.length })
      launches.push(claims.length)
    }
  }
  const watched: SandboxBackend = {
    ...backend,
    name: backend.name,
    start: async (start) => {
      const taken = waiting.shift()
      claims.push({
        expertKey: start.spec.expert.key,
        inputType: start.spec.input.type,
        ...(taken ? { startedBefore: taken.startedBefore } : {}),
      })
      if (taken) fill(1)
      return backend.start(start)
    },
    prewarm: async (_options, count) => fill(count),
  }
  return { watched, claims, launches }
}

describe("warm sandboxes asked for by the job", () => {
  it("has the coordinator's resume take one asked for before its delegate started, and launches none on the way back", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [{ toolCalls: [{ name: "delegate__worker", arguments: { query: "work" } }] }, { text: "done" }],
      worker: [{ text: "worked" }],
    })
    const pool = watchedPool(createLocalBackend({ runtimeEntry: RUNTIME_SOURCE, warmPool: 0 }))
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "go",
      wrapBackend: () => pool.watched,
    })
    expect(result.status, result.error).toBe("completed")
    const [lead, worker, resumed] = pool.claims
    expect([lead, worker, resumed].map((claim) => `${claim?.expertKey} ${claim?.inputType}`)).toEqual([
      "lead query",
      "worker query",
      "lead resume",
    ])
    // Asked for before the delegate started (while the coordinator's first run worked): it had the delegate's whole
    // run to load, not the moment between the delegate's answer and the resume.
    expect(worker?.startedBefore).toBeDefined()
    expect(resumed?.startedBefore).toBeLessThanOrEqual(pool.claims.indexOf(worker as never))
    // Nothing launched on the way from the delegate's start to the resume's (a launch takes the CPU they need), and
    // the resume, answering at once, asked for no next round (the only launch after it is the pool's own refill).
    expect(pool.launches.filter((startedBefore) => startedBefore === 2)).toEqual([])
    expect(pool.launches.filter((startedBefore) => startedBefore === 3)).toHaveLength(1)
  })

  it("has a resumed coordinator that delegates again ask for the next round as its model answers", async () => {
    await using ws = await makeJobWorkspace()
    const delegate = { toolCalls: [{ name: "delegate__worker", arguments: { query: "work" } }] }
    await using llm = await startExpertScript({
      lead: [delegate, delegate, { text: "done" }],
      worker: [{ text: "worked" }, { text: "worked again" }],
    })
    const pool = watchedPool(createLocalBackend({ runtimeEntry: RUNTIME_SOURCE, warmPool: 0 }))
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "go",
      wrapBackend: () => pool.watched,
    })
    expect(result.status, result.error).toBe("completed")
    expect(pool.claims.map((claim) => `${claim.expertKey} ${claim.inputType}`)).toEqual([
      "lead query",
      "worker query",
      "lead resume",
      "worker query",
      "lead resume",
    ])
    const [, , , worker, resumed] = pool.claims
    expect(worker?.startedBefore).toBeDefined()
    expect(resumed?.startedBefore).toBeLessThanOrEqual(pool.claims.indexOf(worker as never))
  })
})
