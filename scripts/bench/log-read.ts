// Benchmark: `perstack log` over a synthetic job of 1,000,000 events (251 runs, parallel delegates interleaved).
// Each query runs in its own process on the bundled command: wall time, CPU and peak RSS of that process.
// Target: peak RSS < 150 MB whatever the query (memory flat: nothing holds the log).
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createWriteStream } from "node:fs"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { pathToFileURL } from "node:url"
import { build } from "esbuild"
import { ORCHESTRATOR_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"
import { perstackEventSchema } from "../../runtime/protocol/events/index.ts"

const root = path.resolve(import.meta.dirname, "../..")
const JOB = "job_bench_log"
const ROUNDS = 50
const DELEGATES = 4
const TARGET_EVENTS = 1_000_000
const RUNS = ROUNDS * (DELEGATES + 1) + 1
const DELTAS_PER_STEP = 30
const EVENTS_PER_STEP = DELTAS_PER_STEP + 7
/** steps per run so that the job comes to a million events */
const STEPS = Math.round((TARGET_EVENTS / RUNS - 6) / EVENTS_PER_STEP)

const usage = {
  inputTokens: 120,
  outputTokens: 12,
  reasoningTokens: 0,
  totalTokens: 132,
  cachedInputTokens: 0,
}
const expert = (key: string) => ({ key, name: key, version: "1.0.0" })

/** The events of one run segment, as its sandbox and the orchestrator would log them; `tick` advances its clock. */
function* runEvents(options: {
  runId: string
  expertKey: string
  query: string
  ending: "completeRun" | "stopRunByDelegate"
  firstStep: number
  tick: () => number
}) {
  const { runId, expertKey, tick } = options
  let n = 0
  const base = (type: string) => ({
    protocolVersion: 1,
    id: `${runId}_${n++}`,
    timestamp: tick(),
    jobId: JOB,
    runId,
    type,
  })
  const run = (type: string, stepNumber: number) => ({ ...base(type), expertKey, stepNumber })
  const checkpoint = (stepNumber: number, status: string) => ({
    protocolVersion: 1,
    id: `${runId}_cp${stepNumber}`,
    jobId: JOB,
    runId,
    status,
    stepNumber,
    messages: [],
    expert: expert(expertKey),
    usage,
  })
  const step = (stepNumber: number) => ({ stepNumber, newMessages: [], usage, startedAt: 1, finishedAt: 2 })
  yield { ...base("sandboxStarted"), backend: "local", sandboxId: `pid:${runId}`, expertKey }
  yield {
    ...base("initializeRuntime"),
    runtimeVersion: "0.1.0",
    expertName: expertKey,
    experts: [expertKey],
    model: "m",
    maxRetries: 1,
    timeout: 1000,
    query: options.query,
  }
  yield {
    ...run("startRun", options.firstStep),
    initialCheckpoint: checkpoint(options.firstStep - 1, "init"),
    inputMessages: [],
  }
  for (let s = 0; s < STEPS; s++) {
    const stepNumber = options.firstStep + s
    yield { ...run("startGeneration", stepNumber), messages: [] }
    yield run("startStreamingReasoning", stepNumber)
    for (let d = 0; d < DELTAS_PER_STEP; d++)
      yield { ...run("streamReasoning", stepNumber), delta: "compare it with last week " }
    yield { ...run("completeStreamingReasoning", stepNumber), text: "compare it with last week" }
    if (s === STEPS - 1) {
      yield options.ending === "completeRun"
        ? {
            ...run("completeRun", stepNumber),
            checkpoint: checkpoint(stepNumber, "completed"),
            step: step(stepNumber),
            text: "done",
            usage,
          }
        : {
            ...run("stopRunByDelegate", stepNumber),
            checkpoint: checkpoint(stepNumber, "stoppedByDelegate"),
            step: step(stepNumber),
          }
      break
    }
    const toolName = s % 10 === 0 ? "exec" : "readTextFile"
    const call = { id: `call_${s}`, skillName: "@perstack/base", toolName, args: { path: "notes.md" } }
    const message = { type: "expertMessage", id: `m_${s}`, contents: [] }
    yield { ...run("callTools", stepNumber), newMessage: message, toolCalls: [call], usage }
    yield {
      ...run("resolveToolResults", stepNumber),
      toolResults: [{ id: call.id, skillName: call.skillName, toolName, result: [] }],
    }
    yield { ...run("finishToolCall", stepNumber), newMessages: [] }
    yield {
      ...run("continueToNextStep", stepNumber),
      checkpoint: checkpoint(stepNumber, "proceeding"),
      step: step(stepNumber),
      nextCheckpoint: checkpoint(stepNumber, "proceeding"),
    }
  }
  yield {
    ...base("sandboxExited"),
    backend: "local",
    sandboxId: `pid:${runId}`,
    exitCode: 0,
    reason: "completed",
    durationMs: 5,
  }
}

async function writeRun(
  store: string,
  options: Parameters<typeof runEvents>[0] & {
    parentRunId?: string
    resumedFrom?: string
    startedAt: number
  },
) {
  const dir = path.join(store, "jobs", JOB, "runs", options.runId)
  await mkdir(dir, { recursive: true })
  const out = createWriteStream(path.join(dir, "events.ndjson"))
  let buffer = ""
  let count = 0
  let last = options.startedAt
  for (const event of runEvents(options)) {
    // Check the builders against the protocol on the first run, so the figures are for valid logs.
    if (options.runId === "run_000_lead") perstackEventSchema.parse(event)
    buffer += `${JSON.stringify(event)}\n`
    count++
    last = event.timestamp
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain")
      buffer = ""
    }
  }
  out.end(buffer)
  await once(out, "finish")
  const run = {
    protocolVersion: 1,
    id: options.runId,
    jobId: JOB,
    expertKey: options.expertKey,
    ...(options.parentRunId
      ? { parentRunId: options.parentRunId, parentToolCallId: `call_${options.runId}` }
      : {}),
    ...(options.resumedFrom ? { resumedFrom: options.resumedFrom } : {}),
    status: options.ending === "completeRun" ? "completed" : "stoppedByDelegate",
    sandbox: { backend: "local", id: `pid:${options.runId}` },
    usage,
    lastCheckpointId: `${options.runId}_cp${options.firstStep + STEPS - 1}`,
    startedAt: options.startedAt,
    finishedAt: last + 1,
  }
  await writeFile(path.join(dir, "run.json"), JSON.stringify(run))
  return { count, finishedAt: last + 1, lastCheckpointId: run.lastCheckpointId }
}

/** The coordinator delegates to four Experts at a time, fifty times over; the four run in parallel. */
async function writeJob(store: string): Promise<number> {
  let clock = 1_763_700_000_000
  let events = 0
  let step = 1
  let resumedFrom: string | undefined
  for (let round = 0; round <= ROUNDS; round++) {
    const leadId = `run_${String(round).padStart(3, "0")}_lead`
    const startedAt = clock
    const lead = await writeRun(store, {
      runId: leadId,
      expertKey: "lead",
      query: `round ${round}`,
      ending: round === ROUNDS ? "completeRun" : "stopRunByDelegate",
      firstStep: step,
      startedAt,
      tick: () => clock++,
      ...(resumedFrom ? { resumedFrom } : {}),
    })
    events += lead.count
    step += STEPS
    clock = lead.finishedAt + 1
    resumedFrom = lead.lastCheckpointId
    if (round === ROUNDS) break
    // Parallel delegates: each ticks its own clock from the same start, so their lines interleave in time.
    const start = clock
    let end = start
    for (let d = 0; d < DELEGATES; d++) {
      let own = start + d
      const child = await writeRun(store, {
        runId: `run_${String(round).padStart(3, "0")}_d${d}`,
        expertKey: `worker-${d}`,
        query: `part ${d} of round ${round}`,
        ending: "completeRun",
        firstStep: step,
        parentRunId: leadId,
        startedAt: start,
        tick: () => {
          own += DELEGATES
          return own
        },
      })
      events += child.count
      end = Math.max(end, child.finishedAt)
    }
    step += STEPS
    clock = end + 1
  }
  const job = {
    protocolVersion: 1,
    id: JOB,
    status: "completed",
    coordinatorExpertKey: "lead",
    backend: "local",
    totalSteps: step - 1,
    usage,
    startedAt: 1_763_700_000_000,
    finishedAt: clock,
  }
  await writeFile(path.join(store, "jobs", JOB, "job.json"), JSON.stringify(job))
  return events
}

interface Sample {
  code: number
  ms: number
  cpuMs: number
  bytes: number
  maxRssKb: number
}

/** Runs in a fresh process: loads the bundled command, runs one query, reports its own time and peak RSS. */
const CHILD = `
const { logCommand } = await import(process.env.LOG_COMMAND)
const options = JSON.parse(process.env.LOG_OPTIONS)
let bytes = 0
const started = performance.now()
const code = options === null ? 0 : await logCommand(options, {
  cwd: process.env.LOG_CWD,
  env: {},
  stdout: (text) => { bytes += Buffer.byteLength(text) },
  stderr: (text) => process.stderr.write(text),
})
const ms = performance.now() - started
const usage = process.resourceUsage()
process.stdout.write(JSON.stringify({ code, ms, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, bytes, maxRssKb: usage.maxRSS }))
`

/** The command bundled as `perstack` ships (dependencies included here, so the bundle runs from a temp folder). */
async function bundle(dir: string): Promise<string> {
  const file = path.join(dir, "log-command.mjs")
  await build({
    entryPoints: [path.join(root, "orchestrator/cli/log-command.ts")],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "warning",
  })
  return pathToFileURL(file).href
}

async function measure(options: {
  module: string
  workspace: string
  flags: readonly string[]
  query: object | null
}): Promise<Sample> {
  const child = spawn(process.execPath, [...options.flags, "--input-type=module", "-e", CHILD], {
    env: {
      PATH: process.env.PATH ?? "",
      LOG_COMMAND: options.module,
      LOG_OPTIONS: JSON.stringify(options.query),
      LOG_CWD: options.workspace,
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const [exit] = (await once(child, "close")) as [number | null]
  const label = JSON.stringify(options.query)
  if (exit !== 0) throw new Error(`perstack log ${label} failed (exit ${exit}):\n${stderr}`)
  const sample = JSON.parse(stdout) as Sample
  if (sample.code !== 0) throw new Error(`perstack log ${label} exited ${sample.code}:\n${stderr}`)
  return sample
}

const QUERIES: [string, object][] = [
  ["default view: summary, tree, first 100 events", {}],
  ["--tree", { tree: true }],
  ["--take 0 --type completeRun", { take: 0, type: "completeRun" }],
  [
    "--take 0 --filter '.toolCalls[].toolName == \"exec\"'",
    { take: 0, filter: '.toolCalls[].toolName == "exec"' },
  ],
  [
    "--take 0 --type continueToNextStep --filter '.stepNumber > 9000'",
    { take: 0, type: "continueToNextStep", filter: ".stepNumber > 9000" },
  ],
  ["--take 0 --errors", { take: 0, errors: true }],
  ["--step 5000-5010 --context 3", { step: "5000-5010", context: 3 }],
  ["--summary", { summary: true }],
  ["--offset 999900 (the last page)", { offset: 999_900 }],
  ["--json --take 0 (every event, validated, streamed)", { json: true, take: 0 }],
]

const CONFIGS: [string, readonly string[]][] = [
  [`as the CLI runs (node ${ORCHESTRATOR_NODE_FLAGS.join(" ")})`, ORCHESTRATOR_NODE_FLAGS],
  ["node defaults", []],
]

export const title = "perstack log over a job of 1,000,000 events (251 runs, 4 parallel delegates at a time)"

export async function run(runs: number): Promise<void> {
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-log-"))
  try {
    const started = performance.now()
    const events = await writeJob(path.join(workspace, "perstack"))
    const module = await bundle(workspace)
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    process.stdout.write(
      `\nwrote ${events.toLocaleString("en-US")} events in ${RUNS} runs, and the bundle, in ${seconds} s\n`,
    )
    const repeats = Math.max(1, Math.min(runs, 3))
    for (const [label, flags] of CONFIGS) {
      const baseline = await measure({ module, workspace, flags, query: null })
      process.stdout.write(
        `\n${label}; best of ${repeats}; nothing read: peak RSS ${(baseline.maxRssKb / 1024).toFixed(0)} MB\n`,
      )
      process.stdout.write(
        `  ${"query".padEnd(68)} ${"wall".padStart(8)} ${"CPU".padStart(8)} ${"peak RSS".padStart(9)} ${"output".padStart(8)}\n`,
      )
      for (const [name, query] of QUERIES) {
        const samples: Sample[] = []
        for (let i = 0; i < repeats; i++) samples.push(await measure({ module, workspace, flags, query }))
        const best = samples.reduce((a, b) => (b.ms < a.ms ? b : a))
        const rss = Math.max(...samples.map((sample) => sample.maxRssKb)) / 1024
        const output =
          best.bytes > 1 << 20
            ? `${(best.bytes / (1 << 20)).toFixed(0)} MB`
            : `${(best.bytes / 1024).toFixed(0)} kB`
        const cells = [
          `${best.ms.toFixed(0)} ms`.padStart(8),
          `${best.cpuMs.toFixed(0)} ms`.padStart(8),
          `${rss.toFixed(0)} MB`.padStart(9),
          output.padStart(8),
        ]
        process.stdout.write(`  ${name.padEnd(68)} ${cells.join(" ")}\n`)
      }
    }
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
}
