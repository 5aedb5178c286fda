import { mkdir, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Run } from "../../runtime/protocol/run.ts"
import { browse as browseWith, findChromium } from "../testing/headless-chromium.ts"
import { detailsOf, HOSTILE, type PageJob, rowOf, runPageJob } from "../testing/page-job.ts"

const chromium = await findChromium()
if (!chromium && process.env.PERSTACK_BROWSER_TESTS === "required")
  throw new Error("PERSTACK_BROWSER_TESTS=required but chromium is not installed")
if (!chromium)
  process.stderr.write(
    "html-page-browser.test.ts: chromium is not installed: the browser tests are skipped\n",
  )

let job: PageJob
let jobId = ""
let runs: Run[] = []
let page = ""
let pageFile = ""

beforeAll(async () => {
  if (!chromium) return
  job = await runPageJob()
  ;({ jobId, runs, page, pageFile } = job)
}, 60_000)

afterAll(async () => {
  await job?.[Symbol.asyncDispose]()
})

const segmentsOf = (expertKey: string) => runs.filter((run) => run.expertKey === expertKey)
const browse = (url: string, ...flags: string[]) =>
  browseWith(chromium as string, { url, profileDir: path.join(job.ws.dir, "chromium-profile"), flags })

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
    const detail = detailsOf(page)
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
    process.stderr.write(`html-page-browser.test.ts: the screenshot of the page is ${shot}\n`)
  })
})
