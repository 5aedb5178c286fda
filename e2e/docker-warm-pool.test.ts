// The warm pool: containers started ahead, each taking exactly one run by exec and destroyed after it.
import { spawn } from "node:child_process"
import path from "node:path"
import type Docker from "dockerode"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseConfigText } from "../orchestrator/config/load-config.ts"
import { runJob } from "../orchestrator/job/run-job.ts"
import { resolveSettings } from "../orchestrator/job/settings.ts"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import type { SandboxBackend } from "../orchestrator/sandbox/sandbox.ts"
import { JobStore } from "../orchestrator/store/job-store.ts"
import { describeBackendContract } from "../orchestrator/testing/backend-contract.ts"
import { lastInput, startExpertScript } from "../orchestrator/testing/expert-script.ts"
import {
  docker,
  dockerBackend,
  ensureImages,
  eventuallyNone,
  loopbackUrl,
  SESSION,
  sessionContainers,
  sessionNetworks,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"

beforeAll(() => ensureImages())
afterAll(sweepSession)

/** A backend whose every start is of a container the pool started for it just before (the contract runs warm). */
function prewarmedBackend(backend: SandboxBackend): SandboxBackend {
  return {
    ...backend,
    name: backend.name,
    isolated: () => backend.isolated(),
    async start(options) {
      const { spec, labels, perRunEnv: _perRun, envIsPerRun: _envIsPerRun, ...rest } = options
      await backend.prewarm?.({ ...rest, jobId: labels.jobId, expertKey: spec.expert.key }, 1)
      return backend.start(options)
    },
  }
}

/** Reads the environment every ancestor process started with: was one started warm, did one start with a token? */
const PROBE = `
import { readFileSync } from "node:fs"
let pid = process.ppid
let warm = false
let token = false
while (pid > 0) {
  const environ = readFileSync("/proc/" + pid + "/environ", "utf8").split("\\0")
  warm ||= environ.includes("PERSTACK_WARM=1")
  token ||= environ.some((entry) => entry.includes("=pgw-"))
  pid = Number(/PPid:\\s+(\\d+)/.exec(readFileSync("/proc/" + pid + "/status", "utf8"))[1])
}
console.log("warm=" + warm + " token=" + token)`
const probe = { name: "exec", arguments: { command: "node", args: ["--input-type=module", "-e", PROBE] } }

describeBackendContract("docker", async () => ({
  backend: prewarmedBackend(dockerBackend({ warmPool: 1 })),
  workspace: () => userWorkspace(),
  llmHost: "0.0.0.0",
  llmUrlFor: loopbackUrl,
}))

describe("docker backend with a warm pool", () => {
  it("gives every run a container of its own, started ahead, without secrets in its config, removed after", async () => {
    await using ws = await userWorkspace()
    const secretsSeen: string[] = []
    const inspectPool = async () => {
      for (const info of await sessionContainers({ [LABEL.job]: "pool-job" })) {
        const env = (await docker.getContainer(info.Id).inspect()).Config.Env ?? []
        secretsSeen.push(...env.filter((entry) => entry.includes("sk-pool")))
      }
    }
    await using llm = await startExpertScript(
      {
        lead: [
          {
            toolCalls: [
              { name: "delegate__helper", arguments: { query: "one" } },
              { name: "delegate__helper", arguments: { query: "two" } },
            ],
          },
          { text: "both helped" },
        ],
        helper: [
          async () => {
            await inspectPool()
            return { text: "helped" }
          },
          { text: "helped" },
        ],
      },
      { host: "0.0.0.0" },
    )
    const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${loopbackUrl(llm.url)}"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
    const { config } = parseConfigText(toml, "perstack.toml")
    const created: string[] = []
    const watch = (await docker.getEvents({
      filters: { type: ["container"], event: ["create"], label: [`${LABEL.job}=pool-job`] },
    })) as NodeJS.ReadableStream & { destroy(): void }
    watch.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        created.push((JSON.parse(line) as { id: string }).id)
      }
    })
    {
      await using backend = dockerBackend({ warmPool: 2 })
      const result = await runJob({
        config,
        expertKey: "lead",
        query: "go",
        jobId: "pool-job",
        workspace: ws.dir,
        backend,
        settings: resolveSettings(config, { maxRetries: 0, reasoningBudget: "none" }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-pool-secret" },
      })
      expect(result).toMatchObject({ status: "completed", text: "both helped" })
    }
    watch.destroy()
    const runs = await new JobStore(`${ws.dir}/perstack`).listRuns("pool-job")
    const ids = runs.map((run) => run.sandbox?.id)
    expect(runs).toHaveLength(4)
    expect(new Set(ids).size).toBe(4)
    for (const id of ids) expect(created.map((full) => full.slice(0, 12))).toContain(id)
    expect(secretsSeen).toEqual([])
    // The pool's idle containers went with the backend; the used ones went after their runs.
    expect(await sessionContainers({ [LABEL.job]: "pool-job" })).toEqual([])
  })

  it("serves runs through the LLM gateway: each claimed container gets its token on stdin, never in its config", async () => {
    await using ws = await userWorkspace()
    const jobId = "gateway-pool-job"
    // What Docker says of every container of the job, and of each exec in it, while a run holds its token.
    const seen: string[] = []
    const hosts: Docker.HostConfig[] = []
    const inspectJob = async () => {
      for (const info of await sessionContainers({ [LABEL.job]: jobId })) {
        const container = await docker
          .getContainer(info.Id)
          .inspect()
          .catch(() => undefined)
        if (!container) continue
        seen.push(JSON.stringify([container.Name, container.Config, container.Args, container.Path]))
        // As isolated as a cold one: on the job's locked-down network alone, hardened the same.
        if (container.Config.Labels[LABEL.pool] !== undefined) hosts.push(container.HostConfig)
        for (const execId of container.ExecIDs ?? []) {
          const exec = await docker
            .getExec(execId)
            .inspect()
            .catch(() => undefined)
          if (exec) seen.push(JSON.stringify(exec))
        }
      }
    }
    const probed = async () => {
      await inspectJob()
      return { toolCalls: [probe] }
    }
    // On the host's loopback, accepting only the real key: the runs reach it through the gateway alone.
    await using llm = await startExpertScript(
      {
        lead: [
          probed,
          { toolCalls: [{ name: "delegate__helper", arguments: { query: "one" } }] },
          probed,
          { text: "done" },
        ],
        helper: [probed, { text: "helped" }],
      },
      { apiKey: "sk-pool-secret" },
    )
    const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llm.url}"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
    const { config } = parseConfigText(toml, "perstack.toml")
    const created: { id: string; labels: Record<string, string> }[] = []
    const watch = (await docker.getEvents({
      filters: { type: ["container"], event: ["create"], label: [`${LABEL.job}=${jobId}`] },
    })) as NodeJS.ReadableStream & { destroy(): void }
    watch.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        const event = JSON.parse(line) as { id: string; Actor: { Attributes: Record<string, string> } }
        created.push({ id: event.id.slice(0, 12), labels: event.Actor.Attributes })
      }
    })
    {
      await using backend = dockerBackend({ warmPool: 4 })
      const result = await runJob({
        config,
        expertKey: "lead",
        query: "go",
        jobId,
        workspace: ws.dir,
        backend,
        settings: resolveSettings(config, { maxRetries: 0, reasoningBudget: "none", gateway: true }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-pool-secret" },
      })
      expect(result, JSON.stringify(result)).toMatchObject({ status: "completed", text: "done" })
      // Gone with the job (its release), before the backend itself is disposed.
      expect(await eventuallyNone(() => sessionContainers({ [LABEL.job]: jobId }))).toEqual([])
      expect(await sessionNetworks({ [LABEL.job]: jobId })).toEqual([])
    }
    watch.destroy()
    // Three runs (lead, helper, lead resumed), each in a container the pool started ahead of it (locked down to the
    // gateway on the job's network, the default with it: the job's egress relay is there too).
    const runs = await new JobStore(`${ws.dir}/perstack`).listRuns(jobId)
    expect(runs).toHaveLength(3)
    const pooled = created.filter((entry) => entry.labels[LABEL.pool] !== undefined).map((entry) => entry.id)
    for (const run of runs) expect(pooled).toContain(run.sandbox?.id)
    expect(created.filter((entry) => entry.labels[LABEL.egress] !== undefined)).toHaveLength(1)
    expect(hosts.length).toBeGreaterThan(0)
    for (const host of hosts) {
      expect(host.NetworkMode).toMatch(/^perstack-egress-/)
      expect(host).toMatchObject({
        CapDrop: ["ALL"],
        ReadonlyRootfs: true,
        SecurityOpt: ["no-new-privileges"],
      })
    }
    // The token was in no container's config, name, labels or command, and in no exec's command or environment...
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.join("\n")).not.toMatch(/pgw-|sk-pool-secret/)
    // ...and in no process's starting environment, though the runtime had it (the runs reached the gateway with it).
    const said = (request: Parameters<typeof lastInput>[0] | undefined) =>
      /warm=\w+ token=\w+/.exec(request ? lastInput(request) : "")?.[0]
    const [, leadFirst, , leadResumed] = llm.byExpert("lead")
    const [, helper] = llm.byExpert("helper")
    expect(said(leadFirst)).toBe("warm=true token=false")
    expect(said(helper)).toBe("warm=true token=false")
    expect(said(leadResumed)).toBe("warm=true token=false")
  })

  it("an orchestrator killed -9: its idle warm containers go by themselves (their runtime's stdin closes)", async () => {
    await using ws = await userWorkspace()
    const jobId = `doomed-pool-${SESSION.slice(0, 8)}`
    const orchestrator = spawn(
      process.execPath,
      [path.join(import.meta.dirname, "support/fixtures/doomed-pool.ts"), ws.dir, jobId],
      { stdio: ["ignore", "pipe", "inherit"] },
    )
    await new Promise<void>((resolve) => orchestrator.stdout.once("data", () => resolve()))
    const pool = () => docker.listContainers({ all: true, filters: { label: [`${LABEL.job}=${jobId}`] } })
    expect(await pool()).toHaveLength(2)
    orchestrator.kill("SIGKILL")
    expect(await eventuallyNone(pool, 20_000)).toEqual([])
  })
})
