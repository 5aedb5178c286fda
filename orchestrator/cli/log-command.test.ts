import { cp, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import type { Run } from "../../runtime/protocol/run.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import {
  ASKER_EXPERT,
  configText,
  makeJobWorkspace,
  runTestJob,
  type TestWorkspace,
} from "../testing/job-harness.ts"
import { type LogOptions, logCommand } from "./log-command.ts"

const EXPERTS = `[experts."lead"]
instruction = "Coordinate."
delegates = ["designer", "programmer"]

[experts."designer"]
instruction = "Design."
delegates = ["artist"]

[experts."programmer"]
instruction = "Program."

[experts."artist"]
instruction = "Draw."

${ASKER_EXPERT}`
const usage = (promptTokens: number, completionTokens: number) => ({
  usage: { promptTokens, completionTokens },
})
const REASONING = "Plan the level: rooms, corridors, a boss."

let ws: TestWorkspace
/** a delegation of two (one of them delegating again), a delegate that fails, an interactive stop (the latest) */
const jobs = { team: "", failing: "", asking: "" }
const runsOf: Record<string, Run[]> = {}

beforeAll(async () => {
  ws = await makeJobWorkspace()
  await using teamLlm = await startExpertScript({
    lead: [
      {
        toolCalls: [
          { id: "d", name: "delegate__designer", arguments: { query: "design a level" } },
          { id: "p", name: "delegate__programmer", arguments: { query: "write the game" } },
        ],
        ...usage(1000, 200),
      },
      { text: "The game is ready", ...usage(2000, 100) },
    ],
    designer: [
      {
        reasoning: REASONING,
        chunkSize: 5,
        toolCalls: [{ id: "a", name: "delegate__artist", arguments: { query: "draw the map" } }],
        ...usage(300, 20),
      },
      { text: "level with a map", ...usage(400, 30) },
    ],
    artist: [{ text: "a map", ...usage(100, 10) }],
    programmer: [{ text: "code done", ...usage(50, 5) }],
  })
  await using failingLlm = await startExpertScript({
    lead: [
      {
        toolCalls: [{ id: "p", name: "delegate__programmer", arguments: { query: "write it" } }],
        ...usage(1000, 200),
      },
      { text: "Handled the failure", ...usage(1500, 50) },
    ],
    programmer: [{ type: "error", status: 401, message: "invalid key for this model" }],
  })
  const [team, failing] = await Promise.all([
    runTestJob(ws, { toml: configText(teamLlm.url, EXPERTS), expertKey: "lead", query: "Make a game" }),
    runTestJob(ws, { toml: configText(failingLlm.url, EXPERTS), expertKey: "lead", query: "Go" }),
  ])
  await using askingLlm = await startExpertScript({
    asker: [
      {
        toolCalls: [{ id: "ask", name: "ask__confirm", arguments: { question: "Delete everything?" } }],
        ...usage(700, 30),
      },
    ],
  })
  const asking = await runTestJob(ws, {
    toml: configText(askingLlm.url, EXPERTS),
    expertKey: "asker",
    query: "Clean up",
  })
  expect([team.status, failing.status, asking.status]).toEqual([
    "completed",
    "completed",
    "stoppedByInteractiveTool",
  ])
  Object.assign(jobs, { team: team.job.id, failing: failing.job.id, asking: asking.job.id })
  for (const id of Object.values(jobs)) runsOf[id] = await ws.store.listRuns(id)
}, 30_000)

afterAll(async () => {
  await ws?.[Symbol.asyncDispose]()
})

async function log(options: LogOptions, io: { cwd?: string; env?: Record<string, string> } = {}) {
  let stdout = ""
  let stderr = ""
  const code = await logCommand(options, {
    cwd: io.cwd ?? ws.dir,
    env: io.env ?? {},
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
  })
  return { code, stdout, stderr, lines: stdout.split("\n") }
}

/** The lines between "Events:" and the page line. */
function eventLines(stdout: string): string[] {
  const lines = stdout.split("\n")
  const start = lines.indexOf("Events:")
  const end = lines.findIndex(
    (line, index) => index > start && (line.startsWith("──") || line.startsWith("No events")),
  )
  return lines.slice(start + 1, end)
}

/** The tree lines between "Runs:" and the next blank line. */
function treeLines(stdout: string): string[] {
  const lines = stdout.split("\n")
  const start = lines.indexOf("Runs:")
  const end = lines.indexOf("", start)
  return lines.slice(start + 1, end === -1 ? undefined : end)
}

async function storedEvents(jobId: string): Promise<PerstackEvent[]> {
  const events: PerstackEvent[] = []
  for (const run of runsOf[jobId] ?? [])
    for await (const event of ws.store.readEvents(jobId, run.id)) events.push(event)
  return events
}

const runId = (jobId: string, expertKey: string, index = 0) =>
  runsOf[jobId]?.filter((run) => run.expertKey === expertKey)[index]?.id ?? `(no ${expertKey} run)`

describe("perstack log", () => {
  it("shows the latest job by default: its summary, its tree, its events", async () => {
    const { code, stdout, stderr } = await log({})
    expect([code, stderr]).toEqual([0, ""])
    expect(stdout.split("\n").slice(0, 2)).toEqual([
      `Job ${jobs.asking} (showing latest job)`,
      "  Status: stoppedByInteractiveTool · Coordinator: asker · Sandbox: local",
    ])
    expect(treeLines(stdout)).toEqual([
      `? asker "Clean up" · 1 step · 730 tokens · waiting for the user · ${runId(jobs.asking, "asker")}`,
    ])
    const events = eventLines(stdout)
    expect(events[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {8}asker {5}sandboxStarted {14}local pid:\d+$/)
    expect(
      events.some((line) =>
        /\[1\] {3}asker {5}stopRunByInteractiveTool +waiting for the user: confirm\(\{"question":"Delete everything\?"\}\)/.test(
          line,
        ),
      ),
    ).toBe(true)
    expect(stdout).toContain(`── 1–${events.length} of ${events.length}\n`)
  })

  it("draws a delegation as a tree: who called whom, each segment's status, the resumed segments", async () => {
    const { code, stdout } = await log({ job: jobs.team })
    expect(code).toBe(0)
    expect(stdout.split("\n")[0]).toBe(`Job ${jobs.team}`)
    const id = (expert: string, index = 0) => runId(jobs.team, expert, index)
    const designer = [
      `| ⎇ designer "design a level" · 1 step · 320 tokens · ${id("designer")}`,
      "| | \\",
      `| | ✓ artist "draw the map" · 1 step · 110 tokens · ${id("artist")}`,
      "| | /",
      `| ✓ designer (resumed) · 2 steps · 430 tokens · ${id("designer", 1)}`,
    ]
    const programmer = [`| ✓ programmer "write the game" · 1 step · 55 tokens · ${id("programmer")}`]
    // The two delegates started together: whichever started first comes first.
    const firstDelegate = runsOf[jobs.team]?.find((run) => run.parentRunId)?.expertKey
    expect(treeLines(stdout)).toEqual([
      `⎇ lead "Make a game" · 1 step · 1.2k tokens · ${id("lead")}`,
      "| \\",
      ...(firstDelegate === "designer" ? [...designer, ...programmer] : [...programmer, ...designer]),
      "| /",
      `✓ lead (resumed) · 2 steps · 2.1k tokens · ${id("lead", 1)}`,
    ])
  })

  it("shows a failed delegate with its error, and --tree shows only the tree", async () => {
    const { code, stdout } = await log({ job: jobs.failing, tree: true })
    expect(code).toBe(0)
    expect(treeLines(stdout)).toEqual([
      `⎇ lead "Go" · 1 step · 1.2k tokens · ${runId(jobs.failing, "lead")}`,
      "| \\",
      `| ✗ programmer "write it" · 1 step · 0 tokens · error: 401 invalid key for this model · ${runId(jobs.failing, "programmer")}`,
      "| /",
      `✓ lead (resumed) · 2 steps · 1.6k tokens · ${runId(jobs.failing, "lead", 1)}`,
    ])
    expect(stdout).not.toContain("Events:")
  })

  it("folds streaming deltas into one line per stream, unless --verbose or --type asks for them", async () => {
    const deltas = (await storedEvents(jobs.team)).filter((event) => event.type === "streamReasoning")
    expect(deltas.length).toBeGreaterThan(3)
    const folded = eventLines((await log({ job: jobs.team, take: 0 })).stdout).filter((line) =>
      line.includes("streamReasoning"),
    )
    expect(folded).toHaveLength(1)
    expect(folded[0]).toMatch(
      new RegExp(`\\[2\\] {3}designer {4}streamReasoning ×${deltas.length} +"${REASONING}"$`),
    )
    const typed = eventLines((await log({ job: jobs.team, type: "streamReasoning" })).stdout)
    expect(typed).toHaveLength(deltas.length)
    const verbose = eventLines((await log({ job: jobs.team, take: 0, verbose: true })).stdout)
    expect(verbose.filter((line) => / streamReasoning /.test(line))).toHaveLength(deltas.length)
  })

  it("selects events by type, kind, step and filter expression", async () => {
    const events = await storedEvents(jobs.team)
    const count = (predicate: (event: PerstackEvent) => boolean) => events.filter(predicate).length
    const typeOf = (line: string) => line.slice(12).trim().split(/\s+/)[2]
    const selected = async (options: LogOptions) =>
      eventLines((await log({ job: jobs.team, take: 0, ...options })).stdout)

    const completes = await selected({ type: "completeRun" })
    expect(completes).toHaveLength(count((event) => event.type === "completeRun"))
    expect(completes.every((line) => typeOf(line) === "completeRun")).toBe(true)

    const delegations = await selected({ delegations: true })
    expect(delegations.map(typeOf).sort()).toEqual([
      "callDelegate",
      "callDelegate",
      "stopRunByDelegate",
      "stopRunByDelegate",
    ])

    const tools = await selected({ tools: true })
    expect(new Set(tools.map(typeOf))).toEqual(new Set(["callTools"]))

    const step2 = await selected({ step: "2" })
    expect(step2).toHaveLength(
      count((event) => "stepNumber" in event && event.stepNumber === 2 && event.type !== "streamReasoning") +
        1,
    )
    expect(step2.every((line) => line.includes(" [2] "))).toBe(true)
    expect(await selected({ step: ">=7" })).toHaveLength(
      count((event) => "stepNumber" in event && event.stepNumber >= 7),
    )

    const filtered = await selected({ filter: '.toolCalls[].args.query == "draw the map"' })
    expect(filtered.map(typeOf)).toEqual(["callTools", "callDelegate"])
    expect(filtered.every((line) => line.includes("designer"))).toBe(true)
    expect(await selected({ filter: ".usage.outputTokens >= 100" })).toHaveLength(
      count((event) => "usage" in event && event.usage.outputTokens >= 100),
    )

    const errors = eventLines((await log({ job: jobs.failing, errors: true })).stdout)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/programmer +stopRunByError +provider\.auth: 401 invalid key for this model$/)
    expect((await log({ job: jobs.team, errors: true })).stdout).toContain("No events match.")
  })

  it("pages with --take and --offset, and adds --context around the matches", async () => {
    const all = eventLines((await log({ job: jobs.team, take: 0 })).stdout)
    expect(all.length).toBeGreaterThan(20)
    const page = await log({ job: jobs.team, take: 3, offset: 2 })
    expect(eventLines(page.stdout)).toEqual(all.slice(2, 5))
    // Every stored event counts, however the deltas fold (parallel runs may interleave them).
    const events = (await storedEvents(jobs.team)).length
    expect(page.stdout).toContain(
      `── 3–5 of ${all.length} (${events} events, streaming deltas folded); --offset 5 for the next page, --take 0 for all\n`,
    )
    // the default page is 100 entries, here more than the job has
    expect(eventLines((await log({ job: jobs.team })).stdout)).toEqual(all)
    expect((await log({ job: jobs.team, offset: 500 })).stdout).toContain(
      `No events on this page: ${all.length} matched, --offset 500 is past them.`,
    )

    const withContext = eventLines((await log({ job: jobs.team, type: "completeRun", context: 1 })).stdout)
    const matches = withContext.filter((line) => line.startsWith("> "))
    expect(matches).toHaveLength(4)
    expect(matches.every((line) => line.includes("completeRun"))).toBe(true)
    for (const [index, line] of withContext.entries()) {
      if (!line.startsWith("> ")) continue
      // each match has its neighbours from the unfiltered log right around it (a neighbour may be a match too:
      // parallel runs can complete one right after the other)
      const position = all.indexOf(line.slice(2))
      expect([`  ${all[position - 1]}`, `> ${all[position - 1]}`]).toContain(withContext[index - 1])
      expect([`  ${all[position + 1]}`, `> ${all[position + 1]}`]).toContain(withContext[index + 1])
    }
    expect(withContext.filter((line) => line === "--").length).toBeGreaterThan(0)
  })

  it("prints one JSON document with the original's shape", async () => {
    const events = await storedEvents(jobs.team)
    const { code, stdout } = await log({ job: jobs.team, json: true, take: 0 })
    expect(code).toBe(0)
    const document = JSON.parse(stdout) as Record<string, unknown>
    expect(Object.keys(document)).toEqual([
      "job",
      "storagePath",
      "runs",
      "tree",
      "events",
      "summary",
      "totalEventsBeforeLimit",
      "matchedAfterPagination",
    ])
    expect(document.job).toMatchObject({
      id: jobs.team,
      status: "completed",
      coordinatorExpertKey: "lead",
      totalSteps: 8,
    })
    expect(document.storagePath).toBe(path.join(ws.dir, "perstack"))
    const listed = document.events as unknown[]
    expect(listed).toHaveLength(events.length)
    expect(listed.every((event) => perstackEventSchema.safeParse(event).success)).toBe(true)
    expect(document.summary).toMatchObject({
      totalEvents: events.length,
      errorCount: 0,
      delegationCount: 4,
      stepRange: { min: 1, max: 8 },
    })
    expect([document.totalEventsBeforeLimit, document.matchedAfterPagination]).toEqual([
      events.length,
      events.length,
    ])
    expect(
      (document.tree as { expertKey: string; children: unknown[] }[]).map((node) => [
        node.expertKey,
        node.children.length,
      ]),
    ).toEqual([
      ["lead", 3],
      ["lead", 0],
    ])

    const latest = JSON.parse(
      (await log({ json: true, pretty: true, type: "stopRunByInteractiveTool" })).stdout,
    ) as Record<string, unknown>
    expect(latest).toMatchObject({ isLatestJob: true, totalEventsBeforeLimit: 1, matchedAfterPagination: 1 })
    expect(latest.tree).toBeUndefined()
  })

  it("shows a checkpoint with its messages, and the events of its run; a run alone with --run", async () => {
    const programmer = runsOf[jobs.failing]?.find((run) => run.expertKey === "programmer")
    const checkpointId = programmer?.lastCheckpointId ?? ""
    const { code, stdout } = await log({ checkpoint: checkpointId, messages: true })
    expect(code).toBe(0)
    expect(stdout.split("\n")[0]).toBe(`Job ${jobs.failing}`)
    expect(stdout).toContain(
      `Checkpoint ${checkpointId}\n  Expert: programmer · Run: ${programmer?.id} · Step: 2 · Status: stoppedByError\n`,
    )
    expect(stdout).toContain("  Error: provider.auth: 401 invalid key for this model\n")
    expect(stdout).toMatch(/Messages \(2\):\n {4}1 instruction \(\d+ characters\)\n {4}2 user {8}write it\n/)
    const events = eventLines(stdout)
    expect(events.length).toBeGreaterThan(3)
    expect(events.every((line) => line.includes(" programmer "))).toBe(true)

    const artist = runId(jobs.team, "artist")
    const run = await log({ run: artist })
    expect(run.stdout).toContain(
      `Run ${artist} · artist\n  Status: completed · Parent: ${runId(jobs.team, "designer")} (tool call a)`,
    )
    expect(eventLines(run.stdout).every((line) => line.includes(" artist "))).toBe(true)
    expect(run.stdout).not.toContain("\nRuns:\n")
  })

  it("sums up with --summary", async () => {
    const events = await storedEvents(jobs.failing)
    const { stdout } = await log({ job: jobs.failing, summary: true })
    expect(stdout).toContain(
      `Summary:\n  Events: ${events.length} · Errors: 1 · Tool events: 1 · Delegation events: 2 · Steps: 1–4\n`,
    )
    expect(stdout).not.toContain("Events:\n")
  })

  it("names what was not found, or what is wrong with the query, and exits 1", async () => {
    const cases: [LogOptions, string][] = [
      [{ job: "nope" }, `perstack log: no job "nope" in ${path.join(ws.dir, "perstack", "jobs")}\n`],
      [
        { run: "nope" },
        `perstack log: no run "nope" in any job in ${path.join(ws.dir, "perstack", "jobs")}\n`,
      ],
      [{ job: jobs.team, run: "nope" }, `perstack log: no run "nope" in job ${jobs.team}\n`],
      [
        { checkpoint: "nope" },
        `perstack log: no checkpoint "nope" in any job in ${path.join(ws.dir, "perstack", "jobs")}\n`,
      ],
      [{ job: jobs.team, checkpoint: "nope" }, `perstack log: no checkpoint "nope" in job ${jobs.team}\n`],
      [{ job: "../etc" }, 'perstack log: --job "../etc": not a job id (letters, digits, ".", "_" and "-")\n'],
      [
        { step: "5+" },
        'perstack log: --step "5+": expected a step number (5), a comparison (>5, >=5, <5, <=5) or a range (1-10)\n',
      ],
      [{ type: "completeJob" }, 'perstack log: --type "completeJob": not an event type'],
      [
        { filter: ".type = 3" },
        "perstack log: --filter: expected an operator (== != >= <= > <) at position 7",
      ],
      [{ take: -1 }, "perstack log: --take -1: expected a whole number, 0 or more\n"],
      [
        { messages: true },
        "perstack log: --messages shows a checkpoint's messages: give --checkpoint <id>\n",
      ],
    ]
    for (const [options, message] of cases) {
      const result = await log(options)
      expect(result.code, JSON.stringify(options)).toBe(1)
      expect(result.stderr.startsWith(message), `${JSON.stringify(options)}: ${result.stderr}`).toBe(true)
      expect(result.stdout).toBe("")
    }
    const empty = await mkdtemp(path.join(tmpdir(), "perstack-log-empty-"))
    try {
      expect(await log({}, { cwd: empty })).toMatchObject({
        code: 1,
        stderr: `perstack log: no jobs yet in ${path.join(empty, "perstack", "jobs")}\n`,
      })
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })

  it("reads the store named by --workspace or PERSTACK_STORAGE_PATH", async () => {
    expect((await log({ workspace: ws.dir, tree: true }, { cwd: tmpdir() })).stdout).toContain(
      `Job ${jobs.asking}`,
    )
    const elsewhere = await log(
      { tree: true },
      { cwd: tmpdir(), env: { PERSTACK_STORAGE_PATH: path.join(ws.dir, "perstack") } },
    )
    expect(elsewhere.stdout).toContain(`Job ${jobs.asking}`)
  })

  it("rebuilds the tree from the event logs, and the job from its runs, when run.json and job.json are missing", async () => {
    const copy = await mkdtemp(path.join(tmpdir(), "perstack-log-bare-"))
    try {
      await cp(path.join(ws.dir, "perstack", "jobs", jobs.team), path.join(copy, "jobs", jobs.team), {
        recursive: true,
      })
      await rm(path.join(copy, "jobs", jobs.team, "job.json"))
      for (const run of runsOf[jobs.team] ?? [])
        await rm(path.join(copy, "jobs", jobs.team, "runs", run.id, "run.json"))
      const env = { PERSTACK_STORAGE_PATH: copy }
      const original = await log({ job: jobs.team, tree: true })
      const rebuilt = await log({ tree: true }, { env })
      expect(rebuilt.code).toBe(0)
      // The same lines; parallel siblings may swap, as the rebuilt start is the sandbox's, not the record's.
      const [tree, expected] = [treeLines(rebuilt.stdout), treeLines(original.stdout)]
      expect([...tree].sort()).toEqual([...expected].sort())
      expect([tree[0], tree.at(-1)]).toEqual([expected[0], expected.at(-1)])
      expect(rebuilt.stdout).toContain(
        `Job ${jobs.team} (showing latest job)\n  (job.json is missing: rebuilt from the job's runs and checkpoints)\n`,
      )
      expect(rebuilt.stdout).toContain("Status: completed · Coordinator: lead")
      expect(rebuilt.stdout).toContain("Steps: 8 ·")
      const events = eventLines((await log({ take: 0 }, { env })).stdout)
      expect([...events].sort()).toEqual(eventLines((await log({ job: jobs.team, take: 0 })).stdout).sort())
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  })
})
