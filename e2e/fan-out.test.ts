// Fifty delegates at once, at --concurrency 50, through the built CLI, on the local backend (isolated) and on
// docker: every run's whole event sequence is stored, every delegate's file is written, and the job completes.
// (Before the intake read a sandbox's stdout from its first byte, 32 of 50 local runs kept only sandboxStarted and
// the job hung.)
import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastInput, startExpertScript } from "../orchestrator/testing/expert-script.ts"
import type { RecordedRequest } from "../runtime/testing/scripted-llm/scripted-llm-server.ts"
import {
  docker,
  ensureImages,
  jobContainers,
  loopbackUrl,
  SESSION,
  userWorkspace,
} from "./support/docker-session.ts"

const exec = promisify(execFile)
const repo = path.resolve(import.meta.dirname, "..")
const WIDTH = 50
const jobIds: string[] = []

const TEAM = `[experts."lead"]
instruction = "Split the work."
delegates = ["worker"]

[experts."worker"]
instruction = "Write the file you are asked for."
`

/** A worker's two steps: write the file its query names, then say so. */
function worker(request: RecordedRequest) {
  const messages = (request.body as { messages: Array<{ role: string }> }).messages
  if (messages.at(-1)?.role === "tool") return { text: "written" }
  const name = /w\d+\.txt/.exec(lastInput(request))?.[0] ?? "unnamed.txt"
  return { toolCalls: [{ name: "writeTextFile", arguments: { path: name, text: name } }] }
}

/** What every delegate's run must have stored, in this order. */
const SEQUENCE = [
  "sandboxStarted",
  "initializeRuntime",
  "startRun",
  "startGeneration",
  "callTools",
  "recordToolResult",
  "resolveToolResults",
  "continueToNextStep",
  "startGeneration",
  "completeRun",
  "sandboxExited",
]

/** The types of a stored events.ndjson that are in SEQUENCE, each once where it first shows after the last. */
function sequenceOf(types: readonly string[]): string[] {
  const found: string[] = []
  let at = 0
  for (const wanted of SEQUENCE) {
    const next = types.indexOf(wanted, at)
    if (next === -1) break
    found.push(wanted)
    at = next + 1
  }
  return found
}

async function tempWorkspace() {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-fanout-")))
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

afterAll(async () => {
  for (const jobId of jobIds) {
    for (const info of await jobContainers(jobId)) await docker.getContainer(info.Id).remove({ force: true })
  }
})

describe.each(["local", "docker"] as const)("%s: 50 delegates at --concurrency 50", (sandbox) => {
  beforeAll(async () => {
    if (sandbox === "docker") await ensureImages()
  })

  it("stores every run's whole event sequence, and the job completes", { timeout: 300_000 }, async () => {
    // docker runs its containers as the workspace's owner, not root; a local sandbox runs as the user running perstack.
    await using ws = sandbox === "docker" ? await userWorkspace() : await tempWorkspace()
    await writeFile(path.join(ws.dir, "perstack.toml"), TEAM)
    const jobId = `fanout-${sandbox}-${SESSION.slice(0, 8)}`
    jobIds.push(jobId)
    await using llm = await startExpertScript(
      {
        lead: [
          {
            toolCalls: Array.from({ length: WIDTH }, (_, i) => ({
              name: "delegate__worker",
              arguments: { query: `Write w${i}.txt` },
            })),
          },
          { text: "All fifty written." },
        ],
        worker: Array.from({ length: 2 * WIDTH }, () => worker),
      },
      { apiKey: "sk-fanout" },
    )
    const cli = await exec(
      process.execPath,
      [
        path.join(repo, "dist/perstack.js"),
        "run",
        "lead",
        "Write fifty files",
        ...["--workspace", ws.dir, "--sandbox", sandbox, "--concurrency", String(WIDTH)],
        ...["--provider", "openai-compatible", "--model", "scripted", "--reasoning-budget", "none"],
        ...["--max-steps", "200", "--max-retries", "0", "--job-id", jobId],
      ],
      {
        cwd: ws.dir,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          OPENAI_COMPATIBLE_BASE_URL: loopbackUrl(llm.url),
          OPENAI_COMPATIBLE_API_KEY: "sk-fanout",
          ...(process.env.PERSTACK_LOCAL_ISOLATION
            ? { PERSTACK_LOCAL_ISOLATION: process.env.PERSTACK_LOCAL_ISOLATION }
            : {}),
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => error)
    expect("code" in cli ? cli.code : 0, cli.stderr).toBe(0)

    const store = path.join(ws.dir, "perstack/jobs", jobId)
    const job = JSON.parse(await readFile(path.join(store, "job.json"), "utf8")) as { status: string }
    expect(job.status).toBe("completed")
    const runIds = await readdir(path.join(store, "runs"))
    const runs = await Promise.all(
      runIds.map(async (runId) => {
        const run = JSON.parse(await readFile(path.join(store, "runs", runId, "run.json"), "utf8")) as {
          expertKey: string
          status: string
        }
        const lines = (await readFile(path.join(store, "runs", runId, "events.ndjson"), "utf8")).split("\n")
        const types = lines.filter(Boolean).map((line) => (JSON.parse(line) as { type: string }).type)
        return { ...run, types }
      }),
    )
    const workers = runs.filter((run) => run.expertKey === "worker")
    expect(workers).toHaveLength(WIDTH)
    for (const run of workers) {
      expect(run.status).toBe("completed")
      expect(sequenceOf(run.types)).toEqual(SEQUENCE)
    }
    const files = (await readdir(ws.dir)).filter((name) => /^w\d+\.txt$/.test(name))
    expect(files).toHaveLength(WIDTH)
    expect(llm.unused()).toEqual({ lead: 0, worker: 0 })
  })
})
