import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { JobStore } from "../store/job-store.ts"
import { forEachLine, JobEventSource, type RunSpan } from "./job-event-source.ts"
import { isCorrupt, type LogLine } from "./log-line.ts"

let dir: string
let store: JobStore
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "perstack-log-source-"))
  store = new JobStore(dir)
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const event = (runId: string, timestamp: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    protocolVersion: 1,
    id: `${runId}@${timestamp}`,
    timestamp,
    jobId: "job",
    runId,
    type: "skillStderr",
    skillName: "s",
    message: "m",
    ...extra,
  })

async function writeLog(runId: string, text: string) {
  await mkdir(path.dirname(store.paths.eventsFile("job", runId)), { recursive: true })
  await writeFile(store.paths.eventsFile("job", runId), text)
}

async function read(runs: RunSpan[]): Promise<LogLine[]> {
  const lines: LogLine[] = []
  await forEachLine(new JobEventSource({ store, jobId: "job", runs }), (line) => lines.push(line))
  return lines
}
const ids = (lines: LogLine[]) => lines.map((line) => (line.value() as { id: string }).id)

describe("JobEventSource", () => {
  it("reads runs that did not overlap one after the other, in start order, keeping each file's order", async () => {
    await writeLog("a", `${[event("a", 10), event("a", 30), event("a", 20)].join("\n")}\n`)
    await writeLog("b", `${[event("b", 5), event("b", 40)].join("\n")}\n`)
    const lines = await read([
      { runId: "b", startedAt: 40, finishedAt: 50 },
      { runId: "a", startedAt: 0, finishedAt: 35 },
    ])
    // b's first line has an earlier timestamp, but b started after a ended: timestamps are not even looked at
    expect(ids(lines)).toEqual(["a@10", "a@30", "a@20", "b@5", "b@40"])
  })

  it("merges runs that overlapped (parallel delegates) by timestamp, the earlier-started run first on ties", async () => {
    await writeLog("p", `${[event("p", 1), event("p", 2)].join("\n")}\n`)
    await writeLog("x", `${[event("x", 10), event("x", 12), event("x", 14), event("x", 30)].join("\n")}\n`)
    await writeLog("y", `${[event("y", 11), event("y", 12), event("y", 20)].join("\n")}\n`)
    await writeLog("z", `${[event("z", 13)].join("\n")}\n`)
    const lines = await read([
      { runId: "p", startedAt: 0, finishedAt: 3 },
      { runId: "x", startedAt: 9, finishedAt: 31 },
      { runId: "y", startedAt: 10, finishedAt: 21 },
      // still running: overlaps everything after its start
      { runId: "z", startedAt: 13 },
    ])
    expect(ids(lines)).toEqual(["p@1", "p@2", "x@10", "y@11", "x@12", "y@12", "z@13", "x@14", "y@20", "x@30"])
  })

  it("treats a run without a log as empty", async () => {
    await writeLog("a", `${event("a", 1)}\n`)
    expect(
      ids(
        await read([
          { runId: "gone", startedAt: 0 },
          { runId: "a", startedAt: 1 },
        ]),
      ),
    ).toEqual(["a@1"])
  })

  it("frames lines on bytes: long lines across chunks, \\r\\n, blank lines, no final newline", async () => {
    const long = event("a", 2, { message: "ü".repeat(200_000) })
    await writeLog("a", `${event("a", 1)}\r\n\n${long}\n${event("a", 3)}`)
    const lines = await read([{ runId: "a", startedAt: 0 }])
    expect(ids(lines)).toEqual(["a@1", "a@2", "a@3"])
    expect(lines.map((line) => line.lineNumber)).toEqual([1, 3, 4])
    const big = lines[1]?.event()
    expect(big && !isCorrupt(big) && big.type === "skillStderr" && big.message.length).toBe(200_000)
  })

  it("hands over a line that is not an event as such, naming the file and line", async () => {
    await writeLog("a", `${event("a", 1)}\n{"type":"skillStderr",\n${event("a", 3)}\n`)
    const lines = await read([{ runId: "a", startedAt: 0 }])
    expect(lines).toHaveLength(3)
    const broken = lines[1]?.event()
    expect(broken && isCorrupt(broken) && broken.problem).toBe(
      `${path.join("jobs", "job", "runs", "a", "events.ndjson")}:2: not JSON`,
    )
    // its type is still read from its first bytes, so --type finds it (and shows it as unreadable)
    expect(lines[1]?.type).toBe("skillStderr")
  })
})
