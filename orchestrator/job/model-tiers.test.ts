import { readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const TEAM = `[experts."producer"]
defaultModelTier = "high"
instruction = "Produce."
delegates = ["pixel-artist"]

[experts."pixel-artist"]
defaultModelTier = "low"
instruction = "Draw."
`

const script = () => ({
  producer: [
    { toolCalls: [{ id: "d", name: "delegate__pixel-artist", arguments: { query: "a sprite" } }] },
    { text: "game done" },
  ],
  "pixel-artist": [{ text: "a sprite" }],
})

/** Each run's model, as its initializeRuntime event reports it. */
const modelsOf = (events: PerstackEvent[]) =>
  events.flatMap((event) =>
    event.type === "initializeRuntime" ? [`${event.expertName}: ${event.model}`] : [],
  )

describe("defaultModelTier in a job", () => {
  it("gives each Expert the model of its tier, in its events and in its LLM requests", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript(script())
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "producer",
      query: "Make a game",
    })
    expect(result.status).toBe("completed")
    expect(modelsOf(result.events)).toEqual([
      "producer: gpt-5",
      "pixel-artist: gpt-5-nano",
      "producer: gpt-5",
    ])
    const requested = (key: string) =>
      llm.byExpert(key).map((request) => (request.body as { model?: string }).model)
    expect(requested("producer")).toEqual(["gpt-5", "gpt-5"])
    expect(requested("pixel-artist")).toEqual(["gpt-5-nano"])
  })

  it("lets --model override every tier", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript(script())
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "producer",
      query: "Make a game",
      settings: { model: "gpt-4.1" },
    })
    expect(result.status).toBe("completed")
    expect(modelsOf(result.events)).toEqual([
      "producer: gpt-4.1",
      "pixel-artist: gpt-4.1",
      "producer: gpt-4.1",
    ])
  })
})

describe("upstream's create-expert perstack.toml", () => {
  it("runs as written: the coordinator delegates to its scoped delegates, every run on its tier's model", async () => {
    const fixture = path.join(import.meta.dirname, "../config/testdata/upstream-create-expert.toml")
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      "create-expert": [
        {
          toolCalls: [
            { id: "p", name: "delegate__create-expert__plan", arguments: { query: "a fitness assistant" } },
          ],
        },
        { text: "perstack.toml written" },
      ],
      "@create-expert/plan": [{ text: "plan.md written" }],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, await readFile(fixture, "utf8")),
      expertKey: "create-expert",
      query: "Create a fitness assistant",
    })
    expect(result.status).toBe("completed")
    expect(result.text).toBe("perstack.toml written")
    expect(modelsOf(result.events)).toEqual([
      "create-expert: gpt-5",
      "@create-expert/plan: gpt-5",
      "create-expert: gpt-5",
    ])
  })
})
