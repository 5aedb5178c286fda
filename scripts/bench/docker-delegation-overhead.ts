// Benchmark: orchestrator overhead per delegation on the docker backend, from the end of the LLM reply that calls
// the delegate to the delegate's first LLM request, and back (the delegate's reply to the parent's resumed request):
// a cold container per run, then the warm pool (exec into a container the job started ahead, its runtime loaded and
// waiting on stdin); each without the LLM gateway (the key in the sandbox) and with it (the default on docker: a
// token per run, handed to a warm container when it is claimed). Target for the pool: 150 ms median (the original's
// in-process figure).

import { benchWorkspace, dockerReady, summary } from "../../e2e/support/docker-bench.ts"
import { loopbackUrl } from "../../e2e/support/docker-session.ts"
import { parseConfigText } from "../../orchestrator/config/load-config.ts"
import { runJob } from "../../orchestrator/job/run-job.ts"
import { resolveSettings } from "../../orchestrator/job/settings.ts"
import { createDockerBackend } from "../../orchestrator/sandbox/docker/docker-backend.ts"
import { expertOf, startExpertScript } from "../../orchestrator/testing/expert-script.ts"

/** How long each scripted Expert "thinks" before it answers (real models take seconds). */
const THINKING_MS = 1_500

export const title =
  "delegation overhead (reply calling a delegate -> the delegate's first LLM request, and back), docker backend"

const think = () => new Promise((resolve) => setTimeout(resolve, THINKING_MS))

const VARIANTS = [
  { gateway: false, warmPool: 0, label: "cold: a new container per run" },
  { gateway: false, warmPool: 2, label: "warm pool, exec per run" },
  { gateway: true, warmPool: 0, label: "gateway on, cold" },
  { gateway: true, warmPool: 4, label: "gateway on, warm pool (token at claim)" },
]

export async function run(runs: number): Promise<void> {
  const docker = await dockerReady()
  if (!docker) return
  await using ws = await benchWorkspace()
  for (const { gateway, warmPool, label } of VARIANTS) {
    const overheads: number[] = []
    const returns: number[] = []
    // The first job warms the image cache and the backend's one-time checks; it is not counted.
    for (let i = -1; i < runs; i++) {
      let replyDone = 0
      let helperDone = 0
      await using llm = await startExpertScript(
        {
          lead: [
            async () => {
              // A model takes its time to answer: long enough here for the pool to have its containers ready.
              await think()
              replyDone = Date.now()
              return { toolCalls: [{ name: "delegate__helper", arguments: { query: "help" } }] }
            },
            { text: "done" },
          ],
          helper: [
            async () => {
              await think()
              helperDone = Date.now()
              return { text: "helped" }
            },
          ],
        },
        { host: "0.0.0.0" },
      )
      const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${loopbackUrl(llm.url)}"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`
      const { config } = parseConfigText(toml, "perstack.toml")
      await using backend = createDockerBackend({ docker, warmPool })
      await runJob({
        config,
        expertKey: "lead",
        query: "go",
        workspace: ws.dir,
        backend,
        settings: resolveSettings(config, { reasoningBudget: "none", maxRetries: 0, gateway }),
        env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-bench" },
      })
      const helperFirst = llm.requests.find((request) => expertOf(request) === "helper")
      const leadResumed = llm.requests.filter((request) => expertOf(request) === "lead")[1]
      if (i >= 0) {
        overheads.push((helperFirst?.receivedAt ?? Number.NaN) - replyDone)
        returns.push((leadResumed?.receivedAt ?? Number.NaN) - helperDone)
      }
    }
    process.stdout.write(`${summary(`${label}: delegation`, overheads)}\n`)
    process.stdout.write(`${summary(`${label}: return to the parent`, returns)}\n`)
  }
}
