// The warm pool: containers started ahead, each taking exactly one run by exec and destroyed after it.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseConfigText } from "../orchestrator/config/load-config.ts"
import { runJob } from "../orchestrator/job/run-job.ts"
import { resolveSettings } from "../orchestrator/job/settings.ts"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import { JobStore } from "../orchestrator/store/job-store.ts"
import { describeBackendContract } from "../orchestrator/testing/backend-contract.ts"
import { startExpertScript } from "../orchestrator/testing/expert-script.ts"
import {
  docker,
  dockerBackend,
  ensureImages,
  loopbackUrl,
  sessionContainers,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"

beforeAll(() => ensureImages())
afterAll(sweepSession)

describeBackendContract("docker", async () => ({
  backend: dockerBackend({ warmPool: 1 }),
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

  it("starts runs that go through the LLM gateway cold: their token exists only once their run does", async () => {
    await using ws = await userWorkspace()
    // On the host's loopback, accepting only the real key: the runs reach it through the gateway alone.
    await using llm = await startExpertScript(
      {
        lead: [{ toolCalls: [{ name: "delegate__helper", arguments: { query: "one" } }] }, { text: "done" }],
        helper: [{ text: "helped" }],
      },
      { apiKey: "sk-pool-secret" },
    )
    const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${llm.url}"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
    const { config } = parseConfigText(toml, "perstack.toml")
    const created: Record<string, string>[] = []
    const watch = (await docker.getEvents({
      filters: { type: ["container"], event: ["create"], label: [`${LABEL.job}=gateway-pool-job`] },
    })) as NodeJS.ReadableStream & { destroy(): void }
    watch.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        created.push((JSON.parse(line) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes)
      }
    })
    {
      await using backend = dockerBackend({ warmPool: 2 })
      const result = await runJob({
        config,
        expertKey: "lead",
        query: "go",
        jobId: "gateway-pool-job",
        workspace: ws.dir,
        backend,
        settings: resolveSettings(config, { maxRetries: 0, reasoningBudget: "none", gateway: true }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-pool-secret" },
      })
      expect(result).toMatchObject({ status: "completed", text: "done" })
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    watch.destroy()
    // Three runs (lead, helper, lead resumed), three containers, none of them a pool's; and the job's egress relay
    // (its runs are locked down to the gateway, the default with it).
    const runs = created.filter((labels) => labels[LABEL.run] !== undefined)
    expect(runs).toHaveLength(3)
    expect(created.filter((labels) => labels[LABEL.egress] !== undefined)).toHaveLength(1)
    expect(created.filter((labels) => labels[LABEL.pool] !== undefined)).toEqual([])
    expect(await sessionContainers({ [LABEL.job]: "gateway-pool-job" })).toEqual([])
  })
})
