// A container that prints garbage on stdout: the intake keeps it as outputRejected records and the job goes on.
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseConfigText } from "../orchestrator/config/load-config.ts"
import { runJob } from "../orchestrator/job/run-job.ts"
import { resolveSettings } from "../orchestrator/job/settings.ts"
import { startExpertScript } from "../orchestrator/testing/expert-script.ts"
import type { PerstackEvent } from "../runtime/protocol/events/index.ts"
import {
  dockerBackend,
  ensureImages,
  loopbackUrl,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"
import { buildFixtureImage, removeFixtureImage } from "./support/fixture-image.ts"

let image = ""
beforeAll(async () => {
  await ensureImages()
  image = await buildFixtureImage({
    name: "garbage",
    entry: path.join(import.meta.dirname, "support/fixtures/garbage-runtime.mjs"),
  })
})
afterAll(async () => {
  await sweepSession()
  await removeFixtureImage(image)
})

describe("a container printing garbage", () => {
  it("is framed on bytes: garbage becomes outputRejected, a split multibyte event arrives whole, the run completes", async () => {
    await using ws = await userWorkspace()
    await using llm = await startExpertScript(
      { worker: [{ text: "done despite the noise" }] },
      { host: "0.0.0.0" },
    )
    const toml = `[provider]\nproviderName = "openai"\n[provider.setting]\nbaseUrl = "${loopbackUrl(llm.url)}"\n\n[experts."worker"]\ninstruction = "Work."\n[experts."worker".sandbox]\nimage = "${image}"\n`
    const { config } = parseConfigText(toml, "perstack.toml")
    const events: PerstackEvent[] = []
    await using backend = dockerBackend()
    const result = await runJob({
      config,
      expertKey: "worker",
      query: "Go",
      workspace: ws.dir,
      backend,
      settings: resolveSettings(config, { maxRetries: 0, reasoningBudget: "none" }),
      env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-garbage" },
      onEvent: (event) => void events.push(event),
    })
    expect(result).toMatchObject({ status: "completed", text: "done despite the noise" })
    const rejected = events.flatMap((event) =>
      event.type === "outputRejected" ? [[event.reason, event.sample.slice(0, 20)]] : [],
    )
    expect(rejected).toEqual([
      ["notJson", "Debugger listening o"],
      ["notJson", '{"type": "startRun",'],
      ["notUtf8", expect.any(String)],
    ])
    const multibyte = events.find((event) => event.type === "skillStderr")
    expect(multibyte?.type === "skillStderr" && multibyte.message).toBe("日本語のログ ünïcødé ".repeat(1000))
    expect(events.find((event) => event.type === "sandboxStarted")).toMatchObject({
      backend: "docker",
      image,
    })
  })
})
