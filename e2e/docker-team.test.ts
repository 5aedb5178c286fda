// The README's example team through the built CLI with --sandbox docker: every run in a container of its own.
import { execFile } from "node:child_process"
import { readdir, readFile, stat } from "node:fs/promises"
import path from "node:path"
import { PassThrough } from "node:stream"
import { promisify } from "node:util"
import type Docker from "dockerode"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import { type ExpertReplies, startExpertScript } from "../orchestrator/testing/expert-script.ts"
import type { RecordedRequest } from "../runtime/testing/scripted-llm/scripted-llm-server.ts"
import {
  docker,
  ensureImages,
  eventuallyNone,
  jobContainers,
  loopbackUrl,
  SESSION,
  userWorkspace,
} from "./support/docker-session.ts"
import { teamRunArgs } from "./support/team-cli.ts"

const exec = promisify(execFile)
const jobIds: string[] = []

beforeAll(() => ensureImages())
afterAll(async () => {
  for (const jobId of jobIds) {
    for (const info of await jobContainers(jobId)) await docker.getContainer(info.Id).remove({ force: true })
  }
})

/** Runs a shell script in a running container, as its own user, and gives back what it printed. */
async function inside(id: string, script: string): Promise<string> {
  const run = await docker
    .getContainer(id)
    .exec({ Cmd: ["/bin/sh", "-c", script], AttachStdout: true, AttachStderr: true })
  const stream = await run.start({})
  const out: Buffer[] = []
  const sink = new PassThrough()
  sink.on("data", (chunk: Buffer) => out.push(chunk))
  docker.modem.demuxStream(stream, sink, sink)
  await new Promise((resolve) => stream.on("end", resolve))
  return Buffer.concat(out).toString("utf8").trim()
}

/** Where the provider key could leak to inside a sandbox: every process's environment, the RunSpec, the workspace. */
const ENVIRONS = "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'"
const LEAK_CHECK = `echo "key $(${ENVIRONS} | grep -c sk-team) $(grep -rl sk-team /run/perstack /workspace 2>/dev/null | wc -l) token $(${ENVIRONS} | grep -c =pgw-)"`

type Messages = Array<{ role: string; content: unknown; tool_call_id?: string }>
const messagesOf = (request: RecordedRequest) => (request.body as { messages: Messages }).messages
const text = (content: unknown) =>
  typeof content === "string"
    ? content
    : (content as Array<{ text?: string }>).map((part) => part.text ?? "").join("")

/** Runs the README's fitness team with the CLI, watching the engine for every container the job creates. */
async function runTeam(replies: ExpertReplies, name: string, extraArgs: string[] = []) {
  const jobId = `${name}-${SESSION.slice(0, 8)}`
  jobIds.push(jobId)
  const ws = await userWorkspace()
  // On the host's loopback, demanding the real key: containers reach it only through the orchestrator's gateway.
  const llm = await startExpertScript(replies, { apiKey: "sk-team" })
  const created: Docker.ContainerInfo["Labels"][] = []
  const createdIds: string[] = []
  const environments: Promise<string[]>[] = []
  const networks: Promise<string>[] = []
  // The runs' containers (the job's egress relay carries the job's label too, but no run's).
  const events = (await docker.getEvents({
    filters: { type: ["container"], event: ["create"], label: [`${LABEL.job}=${jobId}`, LABEL.run] },
  })) as NodeJS.ReadableStream & { destroy(): void }
  events.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
      const event = JSON.parse(line) as { id: string; Actor: { Attributes: Record<string, string> } }
      createdIds.push(event.id)
      created.push(event.Actor.Attributes)
      const inspected = docker
        .getContainer(event.id)
        .inspect()
        .catch(() => undefined)
      environments.push(inspected.then((info) => info?.Config.Env ?? []))
      networks.push(inspected.then((info) => info?.HostConfig.NetworkMode ?? ""))
    }
  })
  const cli = await exec(
    process.execPath,
    teamRunArgs({ workspace: ws.dir, sandbox: "docker", jobId, extraArgs }),
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        OPENAI_COMPATIBLE_BASE_URL: loopbackUrl(llm.url),
        OPENAI_COMPATIBLE_API_KEY: "sk-team",
        // The cold path, whose containers carry their run's labels (a warm one is made before its run is known) and
        // whose runtime starts with its token: e2e/docker-warm-pool.test.ts covers the pool.
        PERSTACK_DOCKER_WARM_POOL: "0",
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string; code?: number }) => error)
  // Events of the last containers may still be on their way.
  await new Promise((resolve) => setTimeout(resolve, 300))
  events.destroy()
  const store = path.join(ws.dir, "perstack/jobs", jobId)
  const runIds = await readdir(path.join(store, "runs"))
  const runs = await Promise.all(
    runIds.map(
      async (runId) =>
        JSON.parse(await readFile(path.join(store, "runs", runId, "run.json"), "utf8")) as {
          id: string
          expertKey: string
          status: string
          parentRunId?: string
          resumedFrom?: string
          lastCheckpointId?: string
          sandbox: { backend: string; id: string; image?: string }
          error?: { code: string; message: string }
        },
    ),
  )
  const job = JSON.parse(await readFile(path.join(store, "job.json"), "utf8")) as { status: string }
  return {
    ws,
    llm,
    jobId,
    cli,
    created,
    createdIds,
    envs: await Promise.all(environments),
    networks: await Promise.all(networks),
    runs,
    job,
    store,
  }
}

/** Reads every checkpoint id mentioned by any stored event, and checks each is in checkpoints/. */
async function missingCheckpoints(store: string, runIds: string[]): Promise<string[]> {
  const stored = new Set(
    (await readdir(path.join(store, "checkpoints"))).map((file) => file.replace(/\.json$/, "")),
  )
  const mentioned = new Set<string>()
  for (const runId of runIds) {
    const log = await readFile(path.join(store, "runs", runId, "events.ndjson"), "utf8")
    for (const line of log.split("\n").filter(Boolean)) {
      const event = JSON.parse(line) as { type: string; checkpoint?: { id: string } }
      if (event.checkpoint && event.type !== "startRun") mentioned.add(event.checkpoint.id)
    }
  }
  return [...mentioned].filter((id) => !stored.has(id))
}

describe("the README's team on the docker backend (perstack run --sandbox docker)", () => {
  it("runs the coordinator and each delegate in distinct containers over one workspace, and leaves none behind", async () => {
    // The trainer is asked twice in parallel; each call writes its menu, which the coordinator then reads.
    // Its first request also looks for the provider key from inside every container of the job then running.
    const leakChecks: string[][] = []
    const trainer = async (request: RecordedRequest) => {
      const messages = messagesOf(request)
      if (!messages.some((message) => message.role === "tool")) {
        // While this runs, the trainer's runtime waits for this answer and the coordinator's for its delegates.
        // The runs' containers still running (not the relay, not the coordinator's first, being removed).
        const running = (await jobContainers(`team-${SESSION.slice(0, 8)}`)).filter(
          (info) => info.Labels[LABEL.run] !== undefined && info.State === "running",
        )
        const reports = await Promise.all(
          running.map((info) => inside(info.Id, LEAK_CHECK).catch(() => undefined)),
        )
        // A container that ended between the listing and the exec has nothing left to check: the exec fails, or
        // prints nothing at all when the container goes while it starts.
        leakChecks.push(
          reports.filter(
            (report): report is string =>
              report !== undefined &&
              report !== "" &&
              !report.includes("deleted state") &&
              !report.startsWith("OCI runtime exec failed"),
          ),
        )
      }
      const task = text(messages.find((message) => message.role === "user")?.content)
      const file = task.includes("HIIT") ? "hiit.md" : "strength.md"
      if (!messages.some((message) => message.role === "tool")) {
        const menu = file === "hiit.md" ? "10 min HIIT: burpees, 40s on / 20s off" : "goblet squats 4x8"
        return { toolCalls: [{ name: "writeTextFile", arguments: { path: file, text: `${menu}\n` } }] }
      }
      return { text: `Written to ${file}.` }
    }
    await using team = await runTeam(
      {
        "fitness-assistant": [
          {
            toolCalls: [
              {
                name: "writeTextFile",
                arguments: { path: "fitness-log.md", text: "# Fitness log\n- Started.\n" },
              },
            ],
          },
          {
            toolCalls: [
              { name: "delegate__pro-trainer", arguments: { query: "A strength menu, into strength.md" } },
              { name: "delegate__pro-trainer", arguments: { query: "A HIIT finisher, into hiit.md" } },
            ],
          },
          {
            toolCalls: [
              { name: "readTextFile", arguments: { path: "strength.md" } },
              { name: "readTextFile", arguments: { path: "hiit.md" } },
            ],
          },
          {
            text: "Today's plan: goblet squats, then HIIT.",
            toolCalls: [{ name: "attemptCompletion", arguments: {} }],
          },
        ],
        "pro-trainer": [trainer, trainer, trainer, trainer],
      },
      "team",
    ).then((team) =>
      Object.assign(team, {
        async [Symbol.asyncDispose]() {
          await team.llm.close()
          await team.ws[Symbol.asyncDispose]()
        },
      }),
    )

    expect(team.cli).toMatchObject({ stderr: expect.stringContaining("completed after") })
    expect(team.job.status).toBe("completed")
    expect(team.llm.unused()).toEqual({ "fitness-assistant": 0, "pro-trainer": 0 })

    // The coordinator read what the delegates wrote, in their own containers.
    const last = team.llm.byExpert("fitness-assistant").at(-1)
    const results = messagesOf(last as RecordedRequest)
      .filter((message) => message.role === "tool")
      .map((message) => text(message.content))
      .join("\n")
    expect(results).toContain("goblet squats 4x8")
    expect(results).toContain("burpees, 40s on / 20s off")
    for (const file of ["strength.md", "hiit.md", "fitness-log.md"]) {
      expect((await stat(path.join(team.ws.dir, file))).uid).toBe(1000)
    }

    // Four runs (coordinator, two delegates, coordinator resumed), four containers, told apart by their labels.
    expect(team.runs).toHaveLength(4)
    expect(new Set(team.createdIds).size).toBe(4)
    // Each container held a token of its own, never the provider key (the LLM server accepts only the key).
    expect(team.envs).toHaveLength(4)
    const tokens = team.envs.map((env) => env.find((entry) => entry.startsWith("OPENAI_COMPATIBLE_API_KEY=")))
    for (const env of team.envs) expect(env.join("\n")).not.toContain("sk-team")
    expect(tokens.every((token) => token?.startsWith("OPENAI_COMPATIBLE_API_KEY=pgw-"))).toBe(true)
    expect(new Set(tokens).size).toBe(4)
    // All four on the job's one locked-down network (the default with the gateway), none on the open bridge.
    expect(new Set(team.networks).size).toBe(1)
    expect(team.networks[0]).toMatch(/^perstack-egress-team-/)
    // From inside: no process's environment, no mounted file holds the key; the runtime's holds its token.
    const seen = leakChecks.flat()
    expect(seen.length).toBeGreaterThanOrEqual(2)
    for (const report of seen) expect(report).toMatch(/^key 0 0 token [1-9]\d*$/)
    const [first, resumed] = team.runs
      .filter((run) => run.expertKey === "fitness-assistant")
      .sort((a, b) => (a.resumedFrom ? 1 : 0) - (b.resumedFrom ? 1 : 0))
    const delegates = team.runs.filter((run) => run.expertKey === "pro-trainer")
    expect(delegates.map((run) => run.parentRunId)).toEqual([first?.id, first?.id])
    expect(resumed?.resumedFrom).toBe(first?.lastCheckpointId)
    expect(team.created.map((labels) => labels[LABEL.run]).sort()).toEqual(
      team.runs.map((run) => run.id).sort(),
    )
    for (const run of team.runs) {
      const labels = team.created.find((candidate) => candidate[LABEL.run] === run.id)
      expect(labels).toMatchObject({ [LABEL.job]: team.jobId, [LABEL.expert]: run.expertKey })
      expect(labels?.[LABEL.parentRun]).toBe(run.parentRunId)
      expect(run.sandbox).toMatchObject({ backend: "docker", image: "perstack/sandbox:0.1.0" })
      expect(team.createdIds.map((id) => id.slice(0, 12))).toContain(run.sandbox.id)
      expect(run.status).toBe(run === first ? "stoppedByDelegate" : "completed")
    }
    expect(
      await missingCheckpoints(
        team.store,
        team.runs.map((run) => run.id),
      ),
    ).toEqual([])
    expect(await eventuallyNone(() => jobContainers(team.jobId))).toEqual([])
  })

  /** The trainer's script: a finished step, then its container is killed while it waits for the LLM. */
  const killedTrainer = (jobId: string) => [
    { toolCalls: [{ name: "readTextFile", arguments: { path: "missing.md" } }] },
    async () => {
      // Mid-run, after a finished step: its container dies as a machine would.
      const [victim] = await docker.listContainers({
        filters: { label: [`${LABEL.job}=${jobId}`, `${LABEL.expert}=pro-trainer`] },
      })
      if (victim) await docker.getContainer(victim.Id).kill()
      return { type: "stall" as const }
    },
  ]
  const disposable = <T extends { llm: { close(): Promise<void> }; ws: AsyncDisposable }>(team: T) =>
    Object.assign(team, {
      async [Symbol.asyncDispose]() {
        await team.llm.close()
        await team.ws[Symbol.asyncDispose]()
      },
    })

  it("a delegate's container killed mid-run: the parent gets the error, the job ends, no checkpoint is lost", async () => {
    const jobId = `killed-${SESSION.slice(0, 8)}`
    await using team = disposable(
      await runTeam(
        {
          "fitness-assistant": [
            { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "Today's menu" } }] },
            {
              text: "The trainer is unavailable; rest today.",
              toolCalls: [{ name: "attemptCompletion", arguments: {} }],
            },
          ],
          "pro-trainer": killedTrainer(jobId),
        },
        "killed",
        // No retry of a dead sandbox: the failure goes straight to the parent.
        ["--crash-retries", "0"],
      ),
    )

    expect(team.job.status).toBe("completed")
    const trainer = team.runs.find((run) => run.expertKey === "pro-trainer")
    expect(trainer).toMatchObject({ status: "stoppedByError", error: { code: "sandbox.crashed" } })
    expect(trainer?.error?.message).toContain("signal SIGKILL")
    const resumedRequest = team.llm.byExpert("fitness-assistant").at(-1) as RecordedRequest
    const toolResult = messagesOf(resumedRequest).find((message) => message.role === "tool")
    expect(text(toolResult?.content)).toContain('The delegate "pro-trainer" failed: the sandbox ended')
    // The trainer's first step (its readTextFile) is kept, with every other checkpoint.
    const trainerLog = await readFile(
      path.join(team.store, "runs", trainer?.id ?? "", "events.ndjson"),
      "utf8",
    )
    expect(trainerLog).toContain('"type":"continueToNextStep"')
    expect(
      await missingCheckpoints(
        team.store,
        team.runs.map((run) => run.id),
      ),
    ).toEqual([])
    expect(await eventuallyNone(() => jobContainers(team.jobId))).toEqual([])
  })

  it("with crash retries (the default), the killed delegate resumes in a new container from its last checkpoint", async () => {
    const jobId = `resumed-${SESSION.slice(0, 8)}`
    await using team = disposable(
      await runTeam(
        {
          "fitness-assistant": [
            { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "Today's menu" } }] },
            (request) => ({
              text: `Plan: ${text(messagesOf(request).find((message) => message.role === "tool")?.content)}`,
              toolCalls: [{ name: "attemptCompletion", arguments: {} }],
            }),
          ],
          "pro-trainer": [...killedTrainer(jobId), { text: "Squats 4x8." }],
        },
        "resumed",
      ),
    )

    expect(team.job.status).toBe("completed")
    const trainers = team.runs.filter((run) => run.expertKey === "pro-trainer")
    expect(trainers.map((run) => run.status).sort()).toEqual(["completed", "stoppedByError"])
    // Two containers for the trainer, distinct, and the coordinator got its answer.
    expect(new Set(trainers.map((run) => run.sandbox.id)).size).toBe(2)
    const last = team.llm.byExpert("fitness-assistant").at(-1) as RecordedRequest
    expect(text(messagesOf(last).find((message) => message.role === "tool")?.content)).toContain(
      "Squats 4x8.",
    )
    // The resumed trainer did not read the file again: its finished step came back with the checkpoint.
    expect(team.llm.byExpert("pro-trainer")).toHaveLength(3)
    expect(
      await missingCheckpoints(
        team.store,
        team.runs.map((run) => run.id),
      ),
    ).toEqual([])
    expect(await eventuallyNone(() => jobContainers(team.jobId))).toEqual([])
  })
})
