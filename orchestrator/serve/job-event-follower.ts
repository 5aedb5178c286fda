// A job's events in the API's order, from the job store, following a live job: runs whole, in start order.
// Exactness comes from the store alone: the order is (run.startedAt, run.id), then each run's log in file order.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import type { JobStore } from "../store/job-store.ts"
import { type EventPosition, formatEventId } from "./event-id.ts"
import { HttpError } from "./http-error.ts"
import { isLineBoundary, RunLogTail } from "./run-log-tail.ts"

export type FollowedItem =
  /** `line` is the event as stored (JSON), sent as it is */
  | { kind: "event"; id: string; line: Buffer; event: PerstackEvent }
  /** a stored line that is not a valid event: reported, with an id so a reconnect does not report it again */
  | { kind: "invalid"; id: string; message: string }

export interface FollowOptions {
  store: JobStore
  jobId: string
  /** resume after this event (a Last-Event-ID) */
  after?: EventPosition
  /** the job is running or queued: more events may come */
  isLive: () => boolean
  /** resolves on the job's next event or after `timeoutMs` */
  waitForActivity: (timeoutMs: number, signal: AbortSignal) => Promise<void>
  signal: AbortSignal
  /**
   * A run's record is written right after its start time is taken; a run started less than this long ago might
   * still have an unwritten sibling that sorts before it, so a live stream waits this long before entering it.
   */
  settleMs?: number
  /** the longest wait between two looks at a live job's store */
  pollMs?: number
  clock?: () => number
}

const byStart = (a: Run, b: Run) => a.startedAt - b.startedAt || a.id.localeCompare(b.id)

/** Checks a Last-Event-ID against the store before any byte of the stream is sent (a 400 is still possible). */
export async function checkPosition(store: JobStore, jobId: string, position: EventPosition): Promise<void> {
  const run = await store.readRun(jobId, position.runId).catch(() => undefined)
  const file = run ? store.paths.eventsFile(jobId, position.runId) : undefined
  if (!run || !file || !(await isLineBoundary(file, position.offset))) {
    throw new HttpError(
      400,
      "lastEventId.unknown",
      `Last-Event-ID ${formatEventId(position)} is not an event of job ${jobId}`,
      { field: "Last-Event-ID" },
    )
  }
}

export async function* followJob(options: FollowOptions): AsyncGenerator<FollowedItem> {
  const { store, jobId, signal } = options
  const settleMs = options.settleMs ?? 300
  const pollMs = options.pollMs ?? 100
  const clock = options.clock ?? Date.now
  let current: EventPosition | undefined = options.after
  /** after activity, look again soon; while idle, back off to pollMs */
  let waitMs = 2
  const idle = async () => {
    await options.waitForActivity(waitMs, signal)
    waitMs = Math.min(pollMs, waitMs * 2)
  }

  while (!signal.aborted) {
    const live = options.isLive()
    const runs = (await store.listRuns(jobId)).sort(byStart)
    const index: number = current ? runs.findIndex((run) => run.id === current?.runId) : -1
    if (current && index < 0) throw new PerstackError("store.missing", `run ${current.runId} left the store`)
    const inRun = current ? (runs[index] as Run) : undefined
    if (inRun && current) {
      // Read this run on until its log ends and its record says it finished (the log is closed before that).
      const tail = new RunLogTail({ file: store.paths.eventsFile(jobId, inRun.id), offset: current.offset })
      try {
        for (;;) {
          signal.throwIfAborted()
          const lines = await tail.read()
          for (const line of lines) {
            current = { runId: inRun.id, offset: line.end }
            yield itemOf(line.bytes, formatEventId(current))
            waitMs = 2
          }
          if (lines.length > 0) continue
          const stillLive = options.isLive()
          const record = await store.readRun(jobId, inRun.id)
          if (record?.finishedAt !== undefined || !stillLive) {
            // Finished (or no one is writing any more): what was flushed before that is all there is.
            const rest = await drain(tail)
            for (const line of rest) {
              current = { runId: inRun.id, offset: line.end }
              yield itemOf(line.bytes, formatEventId(current))
            }
            break
          }
          await idle()
        }
      } finally {
        await tail.close()
      }
    }
    // The next run in start order, once no unwritten run can sort before it.
    const next = current ? runs[index + 1] : runs[0]
    const listedAt = clock()
    if (next && (!live || next.startedAt < listedAt - settleMs)) {
      current = { runId: next.id, offset: 0 }
      continue
    }
    if (!next && !live) {
      // Nothing more known and no one writing; one more look closes the race with a run written just before the end.
      const again = await store.listRuns(jobId)
      if (again.length === runs.length) return
      continue
    }
    await idle()
  }
}

async function drain(tail: RunLogTail) {
  const all = []
  for (;;) {
    const lines = await tail.read()
    if (lines.length === 0) return all
    all.push(...lines)
  }
}

function itemOf(bytes: Buffer, id: string): FollowedItem {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString("utf8"))
  } catch {
    return { kind: "invalid", id, message: `event ${id}: the stored line is not JSON` }
  }
  const result = perstackEventSchema.safeParse(json)
  if (!result.success) {
    const issue = result.error.issues[0]
    return {
      kind: "invalid",
      id,
      message: `event ${id}: not a valid event: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    }
  }
  return { kind: "event", id, line: bytes, event: result.data }
}
