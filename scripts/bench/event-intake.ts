// Benchmark: the orchestrator's event intake (framing + UTF-8 + JSON + schema validation of every line).
// Targets: >= 200,000 small events/s on one core; RSS flat (< 150 MB) while 1,000,000 events are ingested.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import path from "node:path"
import {
  type IntakeItem,
  newIntakeCounts,
  readSandboxEvents,
} from "../../orchestrator/intake/event-intake.ts"
import { RunGuard } from "../../orchestrator/job/run-guard.ts"
import { SecretScrubber } from "../../orchestrator/secrets/secret-scrubber.ts"

const root = path.resolve(import.meta.dirname, "../..")
const expect = { jobId: "job_bench", runId: "run_bench" }
const CHUNK = 65536 // what a pipe delivers at a time

const stored = readFileSync(path.join(root, "runtime/protocol/fixtures/v1/events.ndjson"), "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Record<string, unknown>)
const fixture = (type: string): Record<string, unknown> => {
  const event = stored.find((candidate) => candidate.type === type)
  if (!event) throw new Error(`no ${type} event in the fixture`)
  return structuredClone({ ...event, ...expect })
}

const DELTA = "Then compare it with last week's session "
const small = (i: number) => ({ ...fixture("streamReasoning"), id: `ev_${i}`, delta: DELTA })

function mid(i: number) {
  const event = fixture("callTools")
  const text = `# Training plan ${i}\n${"- 3 x 12 squats, 90 s rest, note how the knee feels\n".repeat(60)}`
  return {
    ...event,
    id: `ev_${i}`,
    toolCalls: [
      {
        id: `call_${i}`,
        skillName: "@perstack/base",
        toolName: "writeTextFile",
        args: { path: "plan.md", text },
      },
    ],
  }
}

function big(i: number) {
  const event = fixture("continueToNextStep")
  const message = (n: number) => ({
    type: "userMessage",
    id: `m_${n}`,
    contents: [
      {
        type: "textPart",
        id: `p_${n}`,
        text: `Session log ${n}: ${"rows, sets and heart rate ".repeat(60)}`,
      },
    ],
  })
  const messages = Array.from({ length: 64 }, (_, n) => message(n))
  const checkpoint = { ...(event.checkpoint as object), messages }
  return {
    ...event,
    id: `ev_${i}`,
    checkpoint,
    nextCheckpoint: { ...(event.nextCheckpoint as object), messages },
  }
}

/** About `targetBytes` of distinct lines, cut into pipe-sized chunks (lines straddle chunks, as in a pipe). */
function pool(make: (i: number) => object, targetBytes: number) {
  const lines: string[] = []
  let size = 0
  for (let i = 0; size < targetBytes; i++) {
    const line = `${JSON.stringify(make(i))}\n`
    lines.push(line)
    size += Buffer.byteLength(line)
  }
  const bytes = Buffer.from(lines.join(""))
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += CHUNK)
    chunks.push(bytes.subarray(offset, offset + CHUNK))
  return { chunks, events: lines.length, lineBytes: Math.round(bytes.length / lines.length) }
}

async function* replay(chunks: Buffer[], times: number) {
  for (let t = 0; t < times; t++) yield* chunks
}

/** What the orchestrator does to each item before storing it: scrub a job's two provider keys. */
const guarded = () => {
  const guard = new RunGuard({
    secrets: new SecretScrubber([
      { name: "OPENAI_API_KEY", value: "sk-proj-bench0000000000000000000000000000" },
      { name: "ANTHROPIC_API_KEY", value: "sk-ant-api03-bench00000000000000000000000" },
    ]),
  })
  return (item: IntakeItem) => guard.item(item)
}

async function ingest(
  source: AsyncIterable<Uint8Array>,
  onEvery4096?: () => void,
  guard: (item: IntakeItem) => IntakeItem = (item) => item,
) {
  const counts = newIntakeCounts()
  const cpu = process.cpuUsage()
  const started = performance.now()
  for await (const read of readSandboxEvents(source, { expect, counts })) {
    const item = guard(read)
    if (item.kind !== "event") throw new Error(`bench line rejected: ${item.reason} ${item.issues ?? ""}`)
    if (onEvery4096 && (counts.lines & 4095) === 0) onEvery4096()
  }
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { counts, seconds, cpuSeconds: (used.user + used.system) / 1e6 }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
const int = (value: number) => Math.round(value).toLocaleString("en-US")
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

async function throughput(label: string, make: (i: number) => object, eventsPerRun: number, runs: number) {
  const { chunks, events, lineBytes } = pool(make, Math.min(8 << 20, eventsPerRun * 400))
  const times = Math.max(1, Math.round(eventsPerRun / events))
  await ingest(replay(chunks, 1)) // warm-up: JIT, zod's compiled fast paths
  const rates: number[] = []
  const cpuRates: number[] = []
  const mbs: number[] = []
  for (let r = 0; r < runs; r++) {
    const { counts, seconds, cpuSeconds } = await ingest(replay(chunks, times))
    rates.push(counts.events / seconds)
    cpuRates.push(counts.events / cpuSeconds)
    mbs.push(counts.bytes / 1024 / 1024 / seconds)
  }
  process.stdout.write(
    `\n${label}: ~${int(lineBytes)} bytes a line, ${int(events * times)} events a run, ${runs} runs\n` +
      `  events/s (wall)        median ${int(median(rates))}  (min ${int(Math.min(...rates))}, max ${int(Math.max(...rates))})\n` +
      `  events/s per CPU-second median ${int(median(cpuRates))}\n` +
      `  MB/s (wall)            median ${median(mbs).toFixed(1)}\n`,
  )
}

/**
 * What sandbox-run's run guard (secrets scrubbed) adds to the intake: runs with and without it taken in turns, so
 * a machine whose load changes meanwhile weighs on both alike; the figure is the median of the pairs' ratios.
 */
async function guardCost(label: string, make: (i: number) => object, eventsPerRun: number, runs: number) {
  const { chunks, events } = pool(make, Math.min(8 << 20, eventsPerRun * 400))
  const times = Math.max(1, Math.round(eventsPerRun / events))
  const guard = guarded()
  await ingest(replay(chunks, 1), undefined, guard)
  const plain: number[] = []
  const scrubbed: number[] = []
  const ratios: number[] = []
  for (let r = 0; r < runs; r++) {
    const without = await ingest(replay(chunks, times))
    const withGuard = await ingest(replay(chunks, times), undefined, guard)
    plain.push(without.counts.events / without.cpuSeconds)
    scrubbed.push(withGuard.counts.events / withGuard.cpuSeconds)
    ratios.push(withGuard.cpuSeconds / without.cpuSeconds)
  }
  process.stdout.write(
    `\n${label}, with the run guard (2 secrets scrubbed), in turns with plain intake, ${runs} pairs\n` +
      `  events/s per CPU-second median ${int(median(scrubbed))} (plain ${int(median(plain))}); CPU per event x${median(ratios).toFixed(3)}\n`,
  )
}

/**
 * `total` distinct small events made as they are read, straight into pipe-sized chunks (no strings, so
 * the generator itself adds no garbage): only the current chunk exists at once.
 */
async function* generated(total: number) {
  const template = JSON.stringify({ ...small(0), id: "01kabcdefg000000000000", timestamp: 1763700000000 })
  const [before, after] = template.split("000000000000") as [string, string]
  const head = Buffer.from(before)
  const tail = Buffer.from(`${after}\n`)
  const lineBytes = head.length + 12 + tail.length
  const perChunk = Math.floor(CHUNK / lineBytes)
  for (let i = 0; i < total; ) {
    const lines = Math.min(perChunk, total - i)
    const chunk = Buffer.allocUnsafe(lines * lineBytes)
    for (let n = 0; n < lines; n++, i++) {
      let offset = n * lineBytes + head.copy(chunk, n * lineBytes)
      for (let digit = 11, rest = i; digit >= 0; digit--, rest = Math.floor(rest / 10)) {
        chunk[offset + digit] = 0x30 + (rest % 10)
      }
      offset += 12
      tail.copy(chunk, offset)
    }
    yield chunk
  }
}

async function memory(label: string, source: () => AsyncIterable<Uint8Array>) {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const { counts, seconds, cpuSeconds } = await ingest(source(), () => {
    peak = Math.max(peak, process.memoryUsage().rss)
  })
  process.stdout.write(
    `\n${label}\n` +
      `  ${int(counts.events)} events, ${mb(counts.bytes)} MB in ${seconds.toFixed(2)} s: ${int(counts.events / seconds)} events/s, ` +
      `${int(counts.events / cpuSeconds)} per CPU-second of this process\n` +
      `  RSS before ${mb(before)} MB, peak while ingesting ${mb(peak)} MB (process max so far ${mb(process.resourceUsage().maxRSS * 1024)} MB)\n`,
  )
}

/** What the local backend does: a child process prints the events, the orchestrator reads its stdout pipe. */
function childStdout(total: number) {
  const [before, after] = JSON.stringify({ ...small(0), id: "01kabcdefg#" }).split("#")
  const script = `
    const [before, after, total] = ${JSON.stringify([before, after, total])}
    process.stdout.on("error", () => process.exit(0))
    let i = 0
    const write = () => {
      let ok = true
      while (i < total && ok) {
        let batch = ""
        for (let n = 0; n < 256 && i < total; n++, i++) batch += before + String(i).padStart(12, "0") + after + "\\n"
        ok = process.stdout.write(batch)
      }
      if (i < total) process.stdout.once("drain", write)
    }
    write()`
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
  return child.stdout
}

async function tooLong() {
  const block = Buffer.alloc(CHUNK, 0x41)
  async function* garbage() {
    for (let i = 0; i < 800; i++) yield block // 50 MiB, no newline
  }
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const started = performance.now()
  let reason = ""
  const source = (async function* () {
    for await (const chunk of garbage()) {
      peak = Math.max(peak, process.memoryUsage().rss)
      yield chunk
    }
  })()
  for await (const item of readSandboxEvents(source, { expect }))
    if (item.kind === "rejected") reason = item.reason
  process.stdout.write(
    `\na 50 MiB line with no newline (cap 32 MiB): ${reason} in ${(performance.now() - started).toFixed(0)} ms, ` +
      `RSS ${mb(before)} -> peak ${mb(peak)} MB\n`,
  )
}

export const title = "event intake: readSandboxEvents (byte framing, UTF-8, JSON, schema) on one core"

export async function run(runs: number): Promise<void> {
  // Memory first, while the heap is fresh (RSS includes Node's TypeScript stripping: ~90 MB at rest).
  await memory("1,000,000 small events from a lazily generated stream (memory)", () => generated(1_000_000))
  await memory(
    "1,000,000 small events through a child process's stdout pipe (the local backend's path)",
    () => childStdout(1_000_000),
  )
  await tooLong()
  await throughput("small: streamReasoning deltas of ~40 chars", small, 300_000, runs)
  await throughput("mid: callTools with a few KB of arguments", mid, 30_000, runs)
  await throughput("big: continueToNextStep with two ~100 KB checkpoints", big, 1_000, runs)
  await guardCost("small", small, 300_000, runs)
  await guardCost("mid", mid, 30_000, runs)
  await guardCost("big", big, 1_000, runs)
}
