import { execFile } from "node:child_process"
import { constants } from "node:fs"
import { access, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { type LogOptions, logCommand } from "../cli/log-command.ts"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob, type TestWorkspace } from "../testing/job-harness.ts"
import { type LoadedJob, loadJob } from "./job-records.ts"
import { loadJobTimeline } from "./job-timeline.ts"
import { TimelineRow } from "./timeline-row.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["designer", "programmer"]

[experts."designer"]
instruction = "Design."

[experts."programmer"]
instruction = "Program."
`
/** What a model may write: markup and a script that would run if the page put it in as markup. */
const HOSTILE = `</script><script>document.title="pwned"</script><img src=x onerror="document.body.dataset.pwned=1"><b id="injected">bold</b>`
const usage = (promptTokens: number, completionTokens: number) => ({
  usage: { promptTokens, completionTokens },
})

let ws: TestWorkspace
let jobId = ""
let runs: Run[] = []
const events: PerstackEvent[] = []
let page = ""
let pageFile = ""

beforeAll(async () => {
  ws = await makeJobWorkspace()
  await using llm = await startExpertScript({
    lead: [
      {
        toolCalls: [
          { id: "d", name: "delegate__designer", arguments: { query: `design a level ${HOSTILE}` } },
          { id: "p", name: "delegate__programmer", arguments: { query: "write the game" } },
        ],
        ...usage(1000, 200),
      },
      { text: "The game is ready", ...usage(2000, 100) },
    ],
    designer: [{ text: `level done ${HOSTILE}`, ...usage(300, 20) }],
    // a rate limit first (the run retries the generation), then its sandbox dies (the run is retried in a new one)
    programmer: [
      { type: "error", status: 429, message: "slow down", headers: { "retry-after": "0" } },
      async () => {
        await until(() =>
          events.some((event) => event.type === "sandboxStarted" && event.expertKey === "programmer"),
        )
        const started = events.find(
          (event) => event.type === "sandboxStarted" && event.expertKey === "programmer",
        )
        if (started?.type === "sandboxStarted")
          process.kill(Number(started.sandboxId.replace("pid:", "")), "SIGKILL")
        return { type: "stall" as const }
      },
      { text: "code done", ...usage(50, 5) },
    ],
  })
  const result = await runTestJob(ws, {
    toml: configText(llm.url, TEAM),
    expertKey: "lead",
    query: "Make a game",
    onEvent: (event) => events.push(event),
  })
  expect(result.status).toBe("completed")
  jobId = result.job.id
  runs = await ws.store.listRuns(jobId)
  pageFile = path.join(ws.dir, "job.html")
  const written = await log({ job: jobId, html: "job.html" })
  expect(written).toEqual({
    code: 0,
    stdout: "",
    stderr: `perstack log: the page of job ${jobId} is in ${pageFile}\n`,
  })
  page = await readFile(pageFile, "utf8")
}, 60_000)

afterAll(async () => {
  await ws?.[Symbol.asyncDispose]()
})

async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; waited < 20_000 && !check(); waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20))
}

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
/** The markup of the element with `data-run="<runId>"` of the given class, up to its end. */
const rowOf = (html: string, runId: string) => {
  const start = html.indexOf(`<div class="row" data-run="${runId}"`)
  return start === -1 ? "" : html.slice(start, html.indexOf("\n", start))
}

describe("perstack log --html", () => {
  it("writes one page: a row per run segment with its sandbox, generations, tool calls, waits and retries", () => {
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
    const detail = JSON.parse(
      page.slice(page.indexOf('id="events">') + 12, page.indexOf("</script>")),
    ) as unknown[]
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

const execFileAsync = promisify(execFile)
const chromium = await findChromium()
const browserRequired = process.env.PERSTACK_BROWSER_TESTS === "required"
if (!chromium && browserRequired)
  throw new Error("PERSTACK_BROWSER_TESTS=required but chromium is not installed")
if (!chromium)
  process.stderr.write("html-page.test.ts: chromium is not installed: the browser tests are skipped\n")

/** Debian's chromium on the PATH (PERSTACK_CHROMIUM names another). */
async function findChromium(): Promise<string | undefined> {
  const named = process.env.PERSTACK_CHROMIUM
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)
  const candidates = named
    ? [named]
    : dirs.flatMap((dir) => ["chromium", "chromium-browser"].map((name) => path.join(dir, name)))
  for (const candidate of candidates) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  return undefined
}

async function browse(url: string, ...flags: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    chromium as string,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      `--user-data-dir=${path.join(ws.dir, "chromium-profile")}`,
      ...flags,
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  )
  return stdout
}

/** A page beside job.html that clicks each selector's element in it (in a frame) and reports what the page showed. */
const CLICKER = `<!doctype html><html><body><iframe id="frame" src="job.html" width="1280" height="900"></iframe><pre id="out"></pre>
<script>
const selectors = JSON.parse(decodeURIComponent(location.hash.slice(1)));
document.getElementById("frame").addEventListener("load", () => {
  const doc = document.getElementById("frame").contentDocument;
  const seen = selectors.map((selector) => {
    const item = doc.querySelector(selector);
    if (!item) return { missing: selector };
    item.click();
    return {
      title: doc.getElementById("detail-title").textContent,
      body: doc.getElementById("detail-body").textContent,
      hash: doc.location.hash,
      injected: doc.getElementById("injected") !== null,
      pwned: doc.body.dataset.pwned !== undefined,
      docTitle: doc.title,
    };
  });
  document.getElementById("out").textContent = JSON.stringify(seen);
});
</script></body></html>`

async function click(selectors: string[]): Promise<Array<Record<string, unknown>>> {
  const clicker = path.join(path.dirname(pageFile), "click.html")
  await writeFile(clicker, CLICKER)
  const dom = await browse(
    `file://${clicker}#${encodeURIComponent(JSON.stringify(selectors))}`,
    "--allow-file-access-from-files",
    "--dump-dom",
  )
  const out = /<pre id="out">([^<]*)<\/pre>/.exec(dom)?.[1] ?? ""
  const text = out.replace(
    /&(lt|gt|quot|#39|amp);/g,
    (_, name: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[name] as string,
  )
  return JSON.parse(text) as Array<Record<string, unknown>>
}

describe.skipIf(!chromium)("the page in headless Chromium", () => {
  it("shows every run on the timeline, the tree lead → both delegates, the totals; nothing injected runs", async () => {
    const dom = await browse(`file://${pageFile}`, "--dump-dom")
    // the page's script ran (it counts the events it parsed) and no hostile one did
    expect(dom).toMatch(/<body data-events="\d+"/)
    expect(dom).not.toMatch(/<body[^>]*data-pwned/)
    expect(dom).toContain(`<title>perstack job ${jobId}</title>`)
    expect(dom).not.toContain('<b id="injected"')
    expect(dom).not.toMatch(/<img src="?x/)
    expect(dom.match(/<script/g)).toHaveLength(2)
    for (const run of runs) expect(rowOf(dom, run.id), run.expertKey).toContain('class="item generation"')
    const [lead] = segmentsOf("lead") as [Run]
    expect(dom).toMatch(
      new RegExp(
        `<li data-run="${lead.id}">.*?<ul><li data-run="[^"]+"><span[^>]*>[^<]*</span><b>(designer|programmer)</b>.*?<li data-run="[^"]+"><span[^>]*>[^<]*</span><b>(designer|programmer)</b>`,
      ),
    )
    expect(dom).toContain("<dt>Total tokens</dt><dd>3,675</dd>")
  })

  it("shows the event of the item clicked, as text", async () => {
    const programmer = segmentsOf("programmer")[0] as Run
    const designer = segmentsOf("designer")[0] as Run
    const clicked = await click([
      `[data-run="${programmer.id}"] .item.retry`,
      `[data-run="${designer.id}"] .item.done`,
    ])
    expect(clicked[0]).toMatchObject({
      title: expect.stringMatching(/ · programmer · retry$/),
      hash: expect.stringMatching(/^#event-\d+$/),
    })
    expect(clicked[0]?.body).toContain('"reason": "provider.rateLimited')
    expect(clicked[1]?.title).toMatch(/ · designer · completeRun$/)
    expect(clicked[1]?.body).toContain(`"text": ${JSON.stringify(`level done ${HOSTILE}`)}`)
    for (const each of clicked)
      expect(each).toMatchObject({ injected: false, pwned: false, docTitle: `perstack job ${jobId}` })
  })

  it("shows an event's detail as text, the hostile one included, and saves a screenshot", async () => {
    const detail = JSON.parse(
      page.slice(page.indexOf('id="events">') + 12, page.indexOf("</script>")),
    ) as Array<{ json: string }>
    const hostile = detail.findIndex((event) => event.json.includes("level done"))
    expect(hostile).toBeGreaterThanOrEqual(0)
    const dom = await browse(`file://${pageFile}#event-${hostile}`, "--dump-dom")
    expect(dom).toContain(`data-shown="${hostile}"`)
    const body = dom.slice(dom.indexOf('<pre id="detail-body">'), dom.indexOf("</pre>"))
    expect(body).toContain(
      'level done &lt;/script&gt;&lt;script&gt;document.title=\\"pwned\\"&lt;/script&gt;&lt;img src=x',
    )
    expect(dom).not.toContain('<b id="injected"')
    expect(dom).not.toMatch(/<body[^>]*data-pwned/)
    expect(dom).toContain(`<title>perstack job ${jobId}</title>`)

    const dir = process.env.PERSTACK_ARTIFACTS_DIR ?? tmpdir()
    await mkdir(dir, { recursive: true })
    const shot = path.join(dir, "perstack-log-html.png")
    await rm(shot, { force: true })
    const crash = detail.findIndex((event) => event.json.includes('"reason": "crashed"'))
    expect(crash).toBeGreaterThanOrEqual(0)
    await browse(
      `file://${pageFile}#event-${crash}`,
      `--screenshot=${shot}`,
      "--window-size=1280,900",
      "--hide-scrollbars",
    )
    expect((await stat(shot)).size).toBeGreaterThan(10_000)
    await writeFile(path.join(dir, "perstack-log-html.html"), page)
    process.stderr.write(`html-page.test.ts: the screenshot of the page is ${shot}\n`)
  })
})
