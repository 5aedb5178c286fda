// `perstack log`: a job's summary, its delegation tree and its events, filtered and paged, as text or JSON.
// Streams every log: memory stays flat however many events the job has.
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint } from "../../runtime/protocol/checkpoint.ts"
import type { JobRun } from "../job-tree/job-run.ts"
import { buildRunTree, type RunTreeNode } from "../job-tree/run-tree.ts"
import { buildMatcher, DELTA_TYPES } from "../log/event-matcher.ts"
import { type Entry, EventSelection } from "../log/event-selection.ts"
import { renderJobPage } from "../log/html-page.ts"
import { forEachLine, JobEventSource } from "../log/job-event-source.ts"
import { findJobHolding, jobIdsNewestFirst, type LoadedJob, loadJob } from "../log/job-records.ts"
import { loadJobTimeline } from "../log/job-timeline.ts"
import { JsonView } from "../log/json-view.ts"
import { loadRunTree, resumeStartUsage } from "../log/load-run-tree.ts"
import type { LogOptions } from "../log/log-options.ts"
import { type LogQuery, parseLogQuery } from "../log/log-query.ts"
import type { LogView } from "../log/log-view.ts"
import { OutputBuffer } from "../log/output-buffer.ts"
import { writePageFile } from "../log/page-file.ts"
import { RunStatsCollector } from "../log/run-stats.ts"
import { TextView } from "../log/text-view.ts"
import { JobStore } from "../store/job-store.ts"
import type { CommandIo } from "./validate.ts"

export type { LogOptions } from "../log/log-options.ts"

export interface LogIo extends CommandIo {
  /** default process.env: PERSTACK_STORAGE_PATH, when set, is the store folder */
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  /** default: whether stdin and stdout are terminals; with no filter given, a terminal gets the history browser */
  interactive?: boolean
}

/** Returns the exit code: 0, or 1 with a message on stderr when something asked for is not there or not valid. */
export async function logCommand(options: LogOptions, io: LogIo): Promise<number> {
  const { workspace, ...asked } = options
  const interactive = io.interactive ?? Boolean(process.stdin.isTTY && process.stdout.isTTY)
  if (interactive && Object.values(asked).every((value) => value === undefined)) {
    const root = io.env?.PERSTACK_STORAGE_PATH ?? process.env.PERSTACK_STORAGE_PATH
    const { browseLog } = await import("../tui/browse-log.ts")
    return browseLog({
      store: new JobStore(
        root ? path.resolve(io.cwd, root) : path.resolve(io.cwd, workspace ?? ".", "perstack"),
      ),
      cwd: io.cwd,
      workspace: path.resolve(io.cwd, workspace ?? "."),
      ...(io.signal ? { signal: io.signal } : {}),
      stderr: io.stderr,
    })
  }
  const out = new OutputBuffer(io.stdout)
  try {
    await showLog(options, io, out)
    return 0
  } catch (error) {
    if (!(error instanceof PerstackError)) throw error
    io.stderr(`perstack log: ${error.message}\n`)
    return 1
  } finally {
    out.flush()
  }
}

async function showLog(options: LogOptions, io: LogIo, out: OutputBuffer): Promise<void> {
  const query = parseLogQuery(options)
  const env = io.env ?? process.env
  const root = env.PERSTACK_STORAGE_PATH
    ? path.resolve(io.cwd, env.PERSTACK_STORAGE_PATH)
    : path.resolve(io.cwd, options.workspace ?? ".", "perstack")
  const store = new JobStore(root)
  const { loaded, isLatest } = await findJob(store, query)
  if (query.html !== undefined) {
    await writeHtml(store, loaded, query.html, io, out)
    return
  }
  const jobId = loaded.job.id
  const run = query.runId ? findRun(loaded, query.runId) : undefined
  const checkpoint = query.checkpointId ? await findCheckpoint(store, jobId, query.checkpointId) : undefined
  const focus = run?.id ?? checkpoint?.runId
  const showTree = query.tree || (!focus && !query.filtered && !query.summary)
  const selects = !query.tree
  const showEvents = selects && !query.summary
  const view: LogView = query.json ? new JsonView(out, { pretty: query.pretty }) : new TextView(out)
  const begin = (tree: RunTreeNode[] | undefined) =>
    view.begin({
      loaded,
      isLatest,
      storagePath: root,
      ...(tree ? { tree } : {}),
      ...(run ? { run } : {}),
      ...(checkpoint ? { checkpoint } : {}),
      showEvents,
      query,
    })

  if (!selects) {
    begin(await loadRunTree(store, jobId, loaded.runs, io.signal))
    view.end(undefined)
    return
  }
  // The tree comes before the events but is built from the same logs. With a bounded page, one pass does both:
  // the page is held (at most --take entries and their context) until the tree is known. With --take 0 the
  // page is unbounded, so the tree gets its own pass first.
  const onePass = showTree && query.take > 0
  const held: Entry[] = []
  const stats = onePass ? new RunStatsCollector() : undefined
  if (!onePass) begin(showTree ? await loadRunTree(store, jobId, loaded.runs, io.signal) : undefined)

  const matcher = buildMatcher(query.match)
  const selection = new EventSelection({
    ...(matcher ? { matcher } : {}),
    take: query.take,
    offset: query.offset,
    context: query.context,
    foldDeltas: foldsDeltas(query),
    onEntry: !showEvents
      ? () => undefined
      : onePass
        ? (entry) => held.push(detach(entry))
        : (entry) => view.entry(entry),
  })
  const runs = focus ? loaded.runs.filter((candidate) => candidate.id === focus) : loaded.runs
  const spans = runs.map((candidate) => ({
    runId: candidate.id,
    startedAt: candidate.startedAt,
    ...(candidate.finishedAt !== undefined ? { finishedAt: candidate.finishedAt } : {}),
  }))
  // A checkpoint's run may have no record at all; its log is still read.
  if (focus && spans.length === 0) spans.push({ runId: focus, startedAt: 0 })
  const source = new JobEventSource({
    store,
    jobId,
    runs: spans,
    ...(io.signal ? { signal: io.signal } : {}),
  })
  await forEachLine(
    source,
    stats
      ? (line) => {
          stats.add(line)
          selection.push(line)
        }
      : (line) => selection.push(line),
  )
  selection.end()
  if (stats) {
    begin(buildRunTree(loaded.runs, stats.stats, await resumeStartUsage(store, jobId, loaded.runs)))
    for (const entry of held) view.entry(entry)
  }
  view.end({
    summary: selection.summary.result(),
    matchedEntries: selection.matchedEntries,
    shownMatches: selection.shownMatches,
  })
}

/** The job's page, to stdout (`-`) or to a file relative to the working directory (a message on stderr then). */
async function writeHtml(
  store: JobStore,
  loaded: LoadedJob,
  file: string,
  io: LogIo,
  out: OutputBuffer,
): Promise<void> {
  const page = renderJobPage(await loadJobTimeline(store, loaded, io.signal ? { signal: io.signal } : {}))
  if (file === "-") {
    out.write(page)
    return
  }
  const target = path.resolve(io.cwd, file)
  await writePageFile(target, page)
  io.stderr(`perstack log: the page of job ${loaded.job.id} is in ${target}\n`)
}

/** A held entry's bytes are copied out of their chunk, so the page does not keep chunks alive. */
function detach(entry: Entry): Entry {
  if (entry.kind === "line") entry.line.detach()
  else entry.fold.detach()
  return entry
}

/** The text view folds streaming deltas into one line per stream, unless asked for them. */
function foldsDeltas(query: LogQuery): boolean {
  if (query.json || query.verbose) return false
  return !(query.match.types ?? []).some((type) => DELTA_TYPES.has(type))
}

async function findJob(store: JobStore, query: LogQuery): Promise<{ loaded: LoadedJob; isLatest: boolean }> {
  const where = store.paths.jobs
  let jobId = query.jobId
  if (!jobId && query.runId) {
    jobId = await findJobHolding(store, { runId: query.runId })
    if (!jobId) throw new PerstackError("run.notFound", `no run "${query.runId}" in any job in ${where}`)
  }
  if (!jobId && query.checkpointId) {
    jobId = await findJobHolding(store, { checkpointId: query.checkpointId })
    if (!jobId)
      throw new PerstackError(
        "checkpoint.notFound",
        `no checkpoint "${query.checkpointId}" in any job in ${where}`,
      )
  }
  const isLatest = jobId === undefined
  if (!jobId) {
    jobId = (await jobIdsNewestFirst(store))[0]
    if (!jobId) throw new PerstackError("job.notFound", `no jobs yet in ${where}`)
  }
  const loaded = await loadJob(store, jobId)
  if (!loaded) throw new PerstackError("job.notFound", `no job "${jobId}" in ${where}`)
  return { loaded, isLatest }
}

function findRun(loaded: LoadedJob, runId: string): JobRun {
  const run = loaded.runs.find((candidate) => candidate.id === runId)
  if (!run) throw new PerstackError("run.notFound", `no run "${runId}" in job ${loaded.job.id}`)
  return run
}

async function findCheckpoint(store: JobStore, jobId: string, checkpointId: string): Promise<Checkpoint> {
  const checkpoint = await store.readCheckpoint(jobId, checkpointId)
  if (!checkpoint)
    throw new PerstackError("checkpoint.notFound", `no checkpoint "${checkpointId}" in job ${jobId}`)
  return checkpoint
}
