// Chaos suite: sandboxes and the orchestrator killed at seeded random moments, a full disk, a torn log. After each,
// the job's result and workspace must equal an undisturbed run's, and no finished tool call may have run twice.
// CHAOS_SEED and CHAOS_ITERATIONS replay or lengthen it (CI: the defaults below; locally e.g. CHAOS_ITERATIONS=50).
import { execFile, spawn } from "node:child_process"
import { mkdir, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { JobStore } from "../orchestrator/store/job-store.ts"
import { perstackCli } from "../orchestrator/testing/cli-harness.ts"
import { makeJobWorkspace, runTestJob, type TestWorkspace } from "../orchestrator/testing/job-harness.ts"
import type { PerstackEvent } from "../runtime/protocol/events/index.ts"
import { CALL_IDS, chaosConfig, FINAL_TEXT, seededRandom, startChaosLlm } from "./support/chaos-team.ts"

const SEED = Number(process.env.CHAOS_SEED ?? 20261121)
const ITERATIONS = Number(process.env.CHAOS_ITERATIONS ?? 4)
const random = seededRandom(SEED)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Events an undisturbed job stores (set by the reference test): the range of the orchestrator's kill points. */
let referenceEvents = 30
const faults = { sandboxKilled: 0, orchestratorKilled: 0, diskFull: 0, logTorn: 0 }
const figures = {
  faults,
  jobs: 0,
  completed: 0,
  repeatedAsMarked: 0,
  finishedCallsRepeated: 0,
  recordsLost: 0,
}

/** How many event lines the store holds, across all jobs and runs (0 before the first job exists). */
async function storedLineCount(ws: TestWorkspace): Promise<number> {
  let lines = 0
  for (const job of await readdir(ws.store.paths.jobs).catch(() => [] as string[])) {
    for (const run of await readdir(ws.store.paths.runs(job)).catch(() => [] as string[])) {
      const text = await readFile(ws.store.paths.eventsFile(job, run), "utf8").catch(() => "")
      lines += text.split("\n").length - 1
    }
  }
  return lines
}

/** Every event of every run of the job, from the store. */
async function storedEvents(ws: TestWorkspace, jobId: string): Promise<PerstackEvent[]> {
  const events: PerstackEvent[] = []
  for (const run of await readdir(ws.store.paths.runs(jobId))) {
    for await (const event of ws.store.readEvents(jobId, run)) events.push(event)
  }
  return events
}

/** The checks every chaos job must pass; adds to the figures. */
async function checkJob(ws: TestWorkspace, jobId: string, result: { status: string; text?: string }) {
  figures.jobs++
  expect(result).toMatchObject({ status: "completed", text: FINAL_TEXT })
  figures.completed++
  const events = await storedEvents(ws, jobId)
  const ran = (await readFile(path.join(ws.dir, "count.txt"), "utf8")).split("\n").filter(Boolean)
  for (const id of CALL_IDS) {
    const runs = ran.filter((call) => call === id).length
    // A call that was running when its sandbox died runs again, and is marked so; nothing else may repeat.
    const marked = events.filter(
      (event) => event.type === "resumeToolCalls" && event.repeatedToolCallIds?.includes(id),
    ).length
    expect(runs).toBeGreaterThanOrEqual(1)
    figures.repeatedAsMarked += Math.min(marked, runs - 1)
    figures.finishedCallsRepeated += Math.max(0, runs - 1 - marked)
  }
  // Records lost: a checkpoint an event refers to with no file, or a run folder without its run.json.
  const checkpointIds = events.flatMap((event) => ("checkpoint" in event ? [event.checkpoint.id] : []))
  for (const id of new Set(checkpointIds))
    if (!(await ws.store.readCheckpoint(jobId, id))) figures.recordsLost++
  const runDirs = await readdir(ws.store.paths.runs(jobId))
  figures.recordsLost += runDirs.length - (await ws.store.listRuns(jobId)).length
  expect(figures.finishedCallsRepeated).toBe(0)
  expect(figures.recordsLost).toBe(0)
}

describe(`chaos (seed ${SEED}, ${ITERATIONS} iterations per fault)`, () => {
  afterAll(() => {
    process.stderr.write(`chaos figures (seed ${SEED}): ${JSON.stringify(figures)}\n`)
  })

  it("an undisturbed job: the reference", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startChaosLlm()
    const result = await runTestJob(ws, { toml: chaosConfig(llm.url), expertKey: "lead", query: "Go" })
    await checkJob(ws, result.job.id, result)
    referenceEvents = await storedLineCount(ws)
    expect(
      (await readFile(path.join(ws.dir, "count.txt"), "utf8")).split("\n").filter(Boolean).sort(),
    ).toEqual(["a", "b", "c"])
  })

  it("sandboxes killed at random moments of their steps", async () => {
    for (let i = 0; i < ITERATIONS; i++) {
      await using ws = await makeJobWorkspace()
      await using llm = await startChaosLlm()
      const events: PerstackEvent[] = []
      const delay = Math.floor(random() * 1_500)
      const job = runTestJob(ws, {
        toml: chaosConfig(llm.url),
        expertKey: "lead",
        query: "Go",
        settings: { crashRetries: 3 },
        onEvent: (event) => events.push(event),
      })
      const fault = sleep(delay).then(() => {
        // The newest sandbox still running, whichever Expert it runs.
        const exited = new Set(
          events.flatMap((event) => (event.type === "sandboxExited" ? [event.runId] : [])),
        )
        const running = events.findLast(
          (event) => event.type === "sandboxStarted" && !exited.has(event.runId),
        )
        if (running?.type !== "sandboxStarted") return
        try {
          process.kill(Number(running.sandboxId.replace("pid:", "")), "SIGKILL")
          faults.sandboxKilled++
        } catch {
          // it had just ended
        }
      })
      const result = await job
      await fault
      await checkJob(ws, result.job.id, result)
    }
  })

  it("the orchestrator killed at random moments, then --continue-job", async () => {
    for (let i = 0; i < Math.max(1, Math.ceil(ITERATIONS / 2)); i++) {
      await using ws = await makeJobWorkspace()
      await using llm = await startChaosLlm()
      const toml = chaosConfig(llm.url)
      await writeFile(path.join(ws.dir, "perstack.toml"), toml)
      const before = new Set((await ws.store.listJobs()).map((job) => job.id))
      // The built CLI, as users run it (make test builds it first).
      const orchestrator = spawn(
        process.execPath,
        [path.resolve(import.meta.dirname, "../dist/perstack.js"), "run", "lead", "Go"],
        {
          cwd: ws.dir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, OPENAI_API_KEY: "sk-test" },
          stdio: "ignore",
        },
      )
      // Listened for at once: the job may finish (and the process exit) before the kill.
      const exited = new Promise((resolve) => orchestrator.on("exit", resolve))
      // Killed at a random point of the job's progress: once the store holds that many of its events.
      const target = 1 + Math.floor(random() * (referenceEvents - 1))
      let done = false
      void exited.then(() => {
        done = true
      })
      while (!done && (await storedLineCount(ws)) < target) await sleep(10)
      orchestrator.kill("SIGKILL")
      await exited
      const jobId = (await ws.store.listJobs()).map((job) => job.id).find((id) => !before.has(id))
      if (!jobId) continue
      const stored = await ws.store.readJob(jobId)
      if (stored?.status === "completed") {
        await checkJob(ws, jobId, { status: "completed", text: FINAL_TEXT })
        continue
      }
      faults.orchestratorKilled++
      const result = await runTestJob(ws, { toml, expertKey: "lead", continueJob: { jobId } })
      await checkJob(ws, jobId, result)
    }
  })

  it("a full disk stops the job with a clear error, and what is stored stays readable", async (context) => {
    await using ws = await makeJobWorkspace()
    const small = path.join(ws.dir, "small")
    await mkdir(small)
    const mounted = await promisify(execFile)("mount", [
      "-t",
      "tmpfs",
      "-o",
      "size=512k",
      "tmpfs",
      small,
    ]).then(
      () => true,
      () => false,
    )
    if (!mounted) {
      context.skip()
      return
    }
    try {
      const store: TestWorkspace = {
        dir: small,
        store: new JobStore(path.join(small, "perstack")),
        [Symbol.asyncDispose]: async () => undefined,
      }
      const flood = path.resolve(import.meta.dirname, "../scripts/bench/fixtures/flood-runtime.ts")
      const error = await runTestJob(store, {
        toml: '[experts."flood"]\ninstruction = "Flood."\n',
        expertKey: "flood",
        query: "go",
        settings: { provider: "ollama" },
        backend: { runtimeEntry: flood },
      }).catch((caught: unknown) => caught)
      faults.diskFull++
      expect(error).toMatchObject({ code: "store.diskFull" })
      expect(String((error as Error).message)).toMatch(
        /the disk is full\. The job stopped; nothing was corrupted/,
      )
      // Every record still parses and is finished, from the reserve: no run left "proceeding", no torn last line.
      const [job] = await store.store.listJobs()
      expect(job?.status).toBe("stoppedByError")
      const runs = await store.store.listRuns(job?.id ?? "")
      expect(runs.length).toBeGreaterThan(0)
      for (const run of runs) {
        expect(run).toMatchObject({ status: "stoppedByError", error: { code: "store.diskFull" } })
        expect(run.finishedAt).toBeDefined()
        const log = await readFile(store.store.paths.eventsFile(run.jobId, run.id))
        expect(log.length === 0 || log.at(-1) === 0x0a).toBe(true)
        let count = 0
        for await (const _ of store.store.readEvents(run.jobId, run.id)) count++
        expect(count).toBeGreaterThan(0)
      }
      // And `perstack log` shows a stopped job, not a running one.
      const shown = await perstackCli(small, ["log", "--tree"])
      expect(shown.code).toBe(0)
      expect(shown.stdout).toContain("Status: stoppedByError")
      expect(shown.stdout).not.toContain("●")
    } finally {
      // Lazy: a sandbox that was just stopped may still be closing a file there.
      await promisify(execFile)("umount", ["-l", small]).catch(() => undefined)
    }
  })

  it("a torn event log is trimmed with a warning, and the job continues", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startChaosLlm()
    const toml = chaosConfig(llm.url)
    const first = await runTestJob(ws, { toml, expertKey: "lead", query: "Go" })
    const [run] = await ws.store.listRuns(first.job.id)
    const log = ws.store.paths.eventsFile(first.job.id, run?.id ?? "")
    const size = (await readFile(log)).length
    await truncate(log, size - 25)
    faults.logTorn++
    const { stderr, code } = await new Promise<{ stderr: string; code: number | null }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.resolve(import.meta.dirname, "../orchestrator/cli/bin.ts"), "log", "--job", first.job.id],
        {
          cwd: ws.dir,
          env: { PATH: process.env.PATH },
          stdio: ["ignore", "ignore", "pipe"],
        },
      )
      let text = ""
      child.stderr.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8")
      })
      child.on("close", (exit) => resolve({ stderr: text, code: exit }))
    })
    expect({ code, stderr }).toMatchObject({ code: 0 })
    await rm(path.join(ws.dir, "count.txt"), { force: true })
    const second = await runTestJob(ws, {
      toml,
      expertKey: "lead",
      query: "Go again",
      continueJob: { jobId: first.job.id },
    })
    expect(second.status).toBe("completed")
  })
})
