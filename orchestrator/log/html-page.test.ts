import { cp, readdir, readFile, rm } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { type LogOptions, logCommand } from "../cli/log-command.ts"
import { perstackCli } from "../testing/cli-harness.ts"
import { makeJobWorkspace } from "../testing/job-harness.ts"
import { detailsOf, type PageJob, rowOf, runPageJob } from "../testing/page-job.ts"
import { type LoadedJob, loadJob } from "./job-records.ts"
import { loadJobTimeline } from "./job-timeline.ts"
import { TimelineRow } from "./timeline-row.ts"

let job: PageJob
let ws: PageJob["ws"]
let jobId = ""
let runs: Run[] = []
let events: PerstackEvent[] = []
let page = ""

beforeAll(async () => {
  job = await runPageJob()
  ;({ ws, jobId, runs, events, page } = job)
}, 60_000)

afterAll(async () => {
  await job?.[Symbol.asyncDispose]()
})

async function log(options: LogOptions) {
  let stdout = ""
  let stderr = ""
  const code = await logCommand(options, {
    cwd: ws.dir,
    env: {},
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
  })
  return { code, stdout, stderr }
}

const segmentsOf = (expertKey: string) => runs.filter((run) => run.expertKey === expertKey)

describe("perstack log --html", () => {
  it("writes one page: a row per run segment with its sandbox, generations, tool calls, waits and retries", () => {
    expect(job.stderr).toBe(`perstack log: the page of job ${jobId} is in ${job.pageFile}\n`)
    expect(runs).toHaveLength(5)
    expect(segmentsOf("lead")).toHaveLength(2)
    for (const run of runs) {
      const row = rowOf(page, run.id)
      expect(row, run.expertKey).toContain(`data-expert="${run.expertKey}"`)
      expect(row).toContain('class="item sandbox"')
      expect(row).toContain('class="item generation"')
    }
    const [lead, resumed] = segmentsOf("lead") as [Run, Run]
    expect(rowOf(page, lead.id)).toContain('class="item wait"')
    expect(rowOf(page, lead.id)).toMatch(/title="waits for (designer, programmer|programmer, designer)"/)
    expect(rowOf(page, resumed.id)).toContain("(resumed)")
    expect(rowOf(page, (segmentsOf("programmer")[0] as Run).id)).toMatch(
      /class="item mark retry"[^>]*title="retry: provider\.rateLimited/,
    )
    // the sandbox that died, and the attempt that took over in a new one
    const [crashed, retried] = segmentsOf("programmer") as [Run, Run]
    expect(crashed.status).toBe("stoppedByError")
    expect(rowOf(page, crashed.id)).toMatch(/class="item mark crash"[^>]*title="sandbox crashed"/)
    expect(rowOf(page, retried.id)).toContain("programmer (retry 2)")
    expect(rowOf(page, retried.id)).toMatch(/class="item mark resume"[^>]*title="retry 2: its sandbox died"/)
    // every event but the streaming deltas is on the timeline, once, with its detail
    const shown = events.filter(
      (event) => event.type !== "streamReasoning" && event.type !== "streamRunResult",
    )
    const detail = detailsOf(page)
    expect(detail).toHaveLength(shown.length)
    const items = [...page.matchAll(/data-event="(\d+)"/g)].map((match) => Number(match[1]))
    expect(new Set(items)).toEqual(new Set(shown.map((_, index) => index)))
  })

  it("draws the delegation tree, each run's tokens and the job's totals", () => {
    const tree = page.slice(
      page.indexOf('<ul class="tree">'),
      page.indexOf("</section>", page.indexOf('<ul class="tree">')),
    )
    const [lead, resumed] = segmentsOf("lead") as [Run, Run]
    const designer = segmentsOf("designer")[0] as Run
    const programmer = segmentsOf("programmer")[0] as Run
    // lead → both delegates (nested under it), then lead resumed at the top level
    expect(tree).toMatch(
      new RegExp(
        `^<ul class="tree"><li data-run="${lead.id}">.*<ul><li data-run="(${designer.id}|${programmer.id})">.*</li><li data-run="(${designer.id}|${programmer.id})">.*</li></ul></li><li data-run="${resumed.id}">`,
      ),
    )
    expect(rowOf(page, designer.id)).toContain('<div class="usage">300 (0) / 20</div>')
    expect(page).toContain('<div data-total="Input tokens"><dt>Input tokens</dt><dd>3,350</dd></div>')
    expect(page).toContain('<div data-total="Output tokens"><dt>Output tokens</dt><dd>325</dd></div>')
    expect(page).toContain('<div data-total="Runs"><dt>Runs</dt><dd>5</dd></div>')
  })

  it("references nothing outside the file, and escapes what the store holds", () => {
    expect(page).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i)
    expect(page).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i)
    expect(page).not.toMatch(/https?:\/\//)
    expect(page).toContain("Content-Security-Policy")
    // the hostile text is in the tree as text, and in the event data with no "<" left to end the block
    expect(page).toContain("design a level &lt;/script&gt;&lt;script&gt;document.title=&quot;pwned&quot;")
    expect(page).not.toContain('<b id="injected">')
    expect(page.match(/<script/g)).toHaveLength(2)
    expect(page.match(/<\/script>/g)).toHaveLength(2)
  })

  it("writes to stdout with --html -, and a refused command writes nothing", async () => {
    const out = await log({ job: jobId, html: "-" })
    expect([out.code, out.stderr]).toEqual([0, ""])
    expect(out.stdout.startsWith("<!doctype html>")).toBe(true)
    // through the command line, as a user types it
    const cli = await perstackCli(ws.dir, ["log", "--job", jobId, "--html", "cli.html"])
    expect([cli.code, cli.stdout]).toEqual([0, ""])
    expect(await readFile(path.join(ws.dir, "cli.html"), "utf8")).toContain(
      `<title>perstack job ${jobId}</title>`,
    )
    await rm(path.join(ws.dir, "cli.html"))
    const before = await readdir(ws.dir)
    const cases: Array<[LogOptions, string]> = [
      [{ job: "nope", html: "nope.html" }, 'perstack log: no job "nope" in '],
      [
        { job: jobId, html: "missing/dir/job.html" },
        `perstack log: --html ${path.join(ws.dir, "missing/dir/job.html")}: cannot write the page (ENOENT)`,
      ],
      [
        { job: jobId, html: "x.html", json: true },
        "perstack log: --html draws the whole job: it takes only --job and --workspace, not --json",
      ],
    ]
    for (const [options, message] of cases) {
      const refused = await log(options)
      expect(refused.code, JSON.stringify(options)).toBe(1)
      expect(refused.stderr.startsWith(message), refused.stderr).toBe(true)
      expect(refused.stdout).toBe("")
    }
    expect(await readdir(ws.dir)).toEqual(before)
  })

  it("cuts each event's detail, and all of them together, to a bound", async () => {
    const loaded = (await loadJob(ws.store, jobId)) as LoadedJob
    const timeline = await loadJobTimeline(ws.store, loaded, { limits: { each: 1000, total: 5000 } })
    const note = /\n… \d+ more characters \(perstack log --json has them all\)$/
    const kept = timeline.events.map((event) => event.json.replace(note, "").length)
    expect(Math.max(...kept)).toBe(1000)
    expect(kept.slice(10).every((length) => length <= 500)).toBe(true)
    expect(timeline.events.filter((event) => note.test(event.json)).length).toBeGreaterThan(5)
    const whole = await loadJobTimeline(ws.store, loaded)
    expect(whole.events.every((event) => !note.test(event.json))).toBe(true)
  })

  it("keeps a generation open across a transport retry, up to the sandbox's death", () => {
    const [crashed] = segmentsOf("programmer") as [Run]
    const row = new TimelineRow()
    for (const [index, event] of events.filter((each) => each.runId === crashed.id).entries())
      row.add(event, event.timestamp, index)
    row.end(crashed.finishedAt ?? 0)
    const retry = row.items.find((item) => item.kind === "retry") as { start: number }
    const crash = row.items.find((item) => item.kind === "crash") as { start: number }
    const generations = row.items.filter((item) => item.kind === "generation")
    expect(generations).toHaveLength(1)
    expect(generations[0]?.start).toBeLessThan(retry.start)
    expect(generations[0]?.end).toBe(crash.start)
  })

  it("marks a crashed sandbox, a retried attempt and a resume on a row", () => {
    const started = events.find((event) => event.type === "sandboxStarted") as PerstackEvent
    const exited = events.find((event) => event.type === "sandboxExited") as PerstackEvent
    const row = new TimelineRow()
    row.add({ ...started, attempt: 2, timestamp: 100 } as PerstackEvent, 100, 0)
    row.add({ ...exited, reason: "oomKilled", exitCode: 137, timestamp: 300 } as PerstackEvent, 300, 1)
    row.add({ ...started, resumedFrom: "cp-1", timestamp: 400 } as PerstackEvent, 400, 2)
    row.end(500)
    expect(row.items.map((item) => [item.kind, item.label, item.start, item.end, item.event])).toEqual([
      [
        "sandbox",
        `sandbox local ${(started as { sandboxId: string }).sandboxId} · oomKilled (exit 137)`,
        100,
        300,
        0,
      ],
      ["resume", "retry 2: its sandbox died", 100, undefined, 0],
      ["crash", "sandbox oomKilled", 300, undefined, 1],
      ["sandbox", `sandbox local ${(started as { sandboxId: string }).sandboxId}`, 400, 500, 2],
      ["resume", "resumed from cp-1", 400, undefined, 2],
    ])
  })
})

describe("perstack log --html of a protocol 1 store", () => {
  it("draws every run of the frozen v1 job, its events as v1 wrote them", async () => {
    await using v1 = await makeJobWorkspace()
    await cp(path.join(import.meta.dirname, "../store/fixtures/v1-store"), path.join(v1.dir, "perstack"), {
      recursive: true,
    })
    let stderr = ""
    let html = ""
    const code = await logCommand(
      { job: "job_v1store", html: "-" },
      { cwd: v1.dir, env: {}, stdout: (text) => (html += text), stderr: (text) => (stderr += text) },
    )
    expect([code, stderr]).toEqual([0, ""])
    const stored = await v1.store.listRuns("job_v1store")
    expect(stored.length).toBeGreaterThan(1)
    for (const run of stored) expect(rowOf(html, run.id), run.expertKey).toContain('class="item generation"')
    expect(html).not.toContain("item mark unreadable")
    expect(detailsOf(html).every((event) => event.json.includes('"protocolVersion": 1'))).toBe(true)
  })
})
