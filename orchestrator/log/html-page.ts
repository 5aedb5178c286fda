// `perstack log --html`: one self-contained HTML file of a job. The totals, the delegation tree, a timeline with one
// row per run segment (its sandbox, generations, tool calls, waits for delegates, retries, crashes, resumes) and the
// tokens of each run are drawn as markup; each event's detail is in a JSON block the small inline script shows on a
// click. Nothing is fetched from anywhere, and a Content-Security-Policy forbids it.
import { createHash } from "node:crypto"
import type { Usage } from "../../runtime/protocol/usage.ts"
import { markGlyph } from "../job-tree/run-marks.ts"
import type { RunTreeNode } from "../job-tree/run-tree.ts"
import { count, duration, oneLine, plural } from "../text/text-preview.ts"
import { escapeHtml as h, scriptJson } from "./html-escape.ts"
import { PAGE_SCRIPT, PAGE_STYLE } from "./html-page-assets.ts"
import type { JobTimeline, TimelineRun } from "./job-timeline.ts"
import type { TimelineItem } from "./timeline-row.ts"

const SCRIPT_HASH = createHash("sha256").update(PAGE_SCRIPT).digest("base64")
const POLICY = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; img-src data:`

export function renderJobPage(timeline: JobTimeline): string {
  const { job } = timeline.loaded
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perstack job ${h(job.id)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
${header(timeline)}
${totals(timeline)}
${timelineSection(timeline)}
<section id="tree"><h2>Delegation tree</h2>
<ul class="tree">${treeList(timeline.tree)}</ul>
</section>
${runTable(timeline)}
</main>
<aside id="detail"><h2 id="detail-title">Click an item on the timeline to see its event</h2><pre id="detail-body"></pre></aside>
<script type="application/json" id="events">${scriptJson(timeline.events)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}

function header({ loaded, start, end }: JobTimeline): string {
  const { job } = loaded
  const facts = [
    `Status: ${job.status}`,
    `Coordinator: ${job.coordinatorExpertKey}`,
    `Sandbox: ${job.backend}`,
    `Started: ${new Date(job.startedAt).toISOString()}`,
    `Duration: ${duration(end - start)}`,
  ]
  const missing = loaded.synthesized
    ? '<p class="facts">job.json is missing: rebuilt from the job\'s runs and checkpoints</p>'
    : ""
  return `<header><h1>Job <code>${h(job.id)}</code></h1><p class="facts">${h(facts.join(" · "))}</p>${missing}</header>`
}

function totals({ loaded, runs }: JobTimeline): string {
  const { job } = loaded
  const usage = job.usage
  const cells: Array<[string, string]> = [
    ["Runs", count(runs.length)],
    ["Steps", `${count(job.totalSteps)}${job.maxSteps ? ` of ${count(job.maxSteps)}` : ""}`],
    ["Input tokens", count(usage.inputTokens)],
    ["Cached input", count(usage.cachedInputTokens)],
    ["Cache hits", hitRate(usage)],
    ["Output tokens", count(usage.outputTokens)],
    ["Reasoning tokens", count(usage.reasoningTokens)],
    ["Total tokens", count(usage.totalTokens)],
  ]
  const list = cells
    .map(([name, value]) => `<div data-total="${h(name)}"><dt>${h(name)}</dt><dd>${h(value)}</dd></div>`)
    .join("")
  return `<section id="totals"><h2>Totals</h2><dl>${list}</dl></section>`
}

function treeList(nodes: readonly RunTreeNode[]): string {
  return nodes
    .map((node) => {
      const how = node.attempt ? ` (retry ${node.attempt})` : node.resumed ? " (resumed)" : ""
      const query = node.query !== undefined ? ` “${oneLine(node.query, 80)}”` : ""
      const facts = ` · ${plural(node.steps, "step")} · ${count(node.usage.totalTokens)} tokens`
      const error = node.error ? ` · error: ${oneLine(node.error.message, 120)}` : ""
      const children = node.children.length > 0 ? `<ul>${treeList(node.children)}</ul>` : ""
      return `<li data-run="${h(node.runId)}"><span class="mark m-${h(node.mark)}">${markGlyph(node.mark)}</span><b>${h(node.expertKey)}</b>${h(`${how}${query}${facts}${error}`)} <code>${h(node.runId)}</code>${children}</li>`
    })
    .join("")
}

function timelineSection(timeline: JobTimeline): string {
  const span = Math.max(1, timeline.end - timeline.start)
  const at = (time: number) => Math.min(100, Math.max(0, ((time - timeline.start) / span) * 100))
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map((part) => {
      const edge = part === 0 ? " first" : part === 1 ? " last" : ""
      return `<span class="tick${edge}" style="left:${part * 100}%">${h(duration(span * part))}</span>`
    })
    .join("")
  const rows = timeline.runs.map((run) => timelineRow(run, at)).join("\n")
  const legend = [
    ["sandbox", "#e8eef6"],
    ["generation", "#2f81f7"],
    ["tool calls", "#d4a72c"],
    ["waiting for delegates", "#c8b6f0"],
    ["delegation", "#8250df"],
    ["resume / retry of a sandbox", "#0969da"],
    ["crash / error", "#cf222e"],
    ["completed", "#1a7f37"],
    ["other event", "#8c959f"],
  ]
    .map(([name, color]) => `<span><i style="background:${color}"></i>${name}</span>`)
    .join("")
  return `<section id="timeline"><h2>Timeline</h2>
<p class="legend">${legend}</p>
<div class="timeline">
<div class="row axis"><div class="who">run</div><div class="track">${axis}</div><div class="usage">tokens: in (cached) / out</div></div>
${rows}
</div></section>`
}

function timelineRow(run: TimelineRun, at: (time: number) => number): string {
  const { node } = run
  const how = node.attempt ? ` (retry ${node.attempt})` : node.resumed ? " (resumed)" : ""
  // Bars first, marks over them; among bars the sandbox first, as the background.
  const order = (item: TimelineItem) => (item.end === undefined ? 2 : item.kind === "sandbox" ? 0 : 1)
  const items = [...run.items]
    .sort((a, b) => order(a) - order(b))
    .map((item) => {
      const left = at(item.start)
      const width = item.end === undefined ? undefined : Math.max(0.2, at(item.end) - left)
      const style = `left:${left.toFixed(3)}%${width === undefined ? "" : `;width:${width.toFixed(3)}%`}`
      const kind = item.end === undefined ? `mark ${item.kind}` : item.kind
      const text = item.end === undefined ? "" : h(item.label)
      return `<button type="button" class="item ${kind}" style="${style}" data-event="${item.event}" title="${h(item.label)}">${text}</button>`
    })
    .join("")
  const deltas = run.deltas > 0 ? ` · ${plural(run.deltas, "streaming delta")}` : ""
  return `<div class="row" data-run="${h(node.runId)}" data-expert="${h(node.expertKey)}"><div class="who" style="padding-left:${8 + run.depth * 16}px"><span class="mark m-${h(node.mark)}">${markGlyph(node.mark)}</span>${h(`${node.expertKey}${how}`)}<small class="mono">${h(node.runId)}${h(deltas)}</small></div><div class="track">${items}</div><div class="usage">${h(usageText(node.usage))}</div></div>`
}

function runTable({ runs }: JobTimeline): string {
  const rows = runs
    .map(({ node, depth }) => {
      const u = node.usage
      const cells = [
        count(node.steps),
        count(u.inputTokens),
        count(u.cachedInputTokens),
        hitRate(u),
        count(u.outputTokens),
        count(u.totalTokens),
      ]
      const name = `${"· ".repeat(depth)}${node.expertKey}${node.resumed ? " (resumed)" : ""}`
      return `<tr data-run="${h(node.runId)}"><td>${h(name)} <code>${h(node.runId)}</code></td><td>${h(node.status)}</td>${cells.map((cell) => `<td>${h(cell)}</td>`).join("")}</tr>`
    })
    .join("\n")
  return `<section id="runs"><h2>Runs</h2>
<table><thead><tr><th>run</th><th>status</th><th>steps</th><th>input</th><th>cached</th><th>cache hits</th><th>output</th><th>total</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="facts">Tokens are each segment's own. Cost is not shown: the project holds no prices per model.</p></section>`
}

function usageText(usage: Usage): string {
  return `${count(usage.inputTokens)} (${count(usage.cachedInputTokens)}) / ${count(usage.outputTokens)}`
}

function hitRate(usage: Usage): string {
  return usage.inputTokens > 0 ? `${((usage.cachedInputTokens / usage.inputTokens) * 100).toFixed(1)}%` : "—"
}
