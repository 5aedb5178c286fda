import { existsSync } from "node:fs"
import { readdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { type Checkpoint, checkpointSchema } from "../../../runtime/protocol/checkpoint.ts"
import type { PerstackEvent } from "../../../runtime/protocol/events/index.ts"
import { lastInput, startExpertScript } from "../../testing/expert-script.ts"
import { ASKER_EXPERT, configText, makeJobWorkspace } from "../../testing/job-harness.ts"
import { PerstackError, run } from "./index.ts"

const FITNESS = `[experts."fitness-assistant"]
description = "Assists users with their fitness journey"
instruction = "Keep records in fitness-log.md; delegate training menus to pro-trainer."
delegates = ["pro-trainer"]

[experts."pro-trainer"]
description = "Suggests training menus"
instruction = "Suggest training menus."

[experts."writer"]
instruction = "Write."

${ASKER_EXPERT}`

const ENV = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" }

/** The text of a checkpoint's last expert message: the coordinator's answer. */
const answerOf = (checkpoint: Checkpoint) => {
  const last = checkpoint.messages.at(-1)
  return last?.type === "expertMessage"
    ? last.contents.flatMap((part) => (part.type === "textPart" ? [part.text] : [])).join("")
    : undefined
}

describe("run() from perstack/runtime", () => {
  it("runs the seeds' call: the coordinator delegates, the listener hears every event in order, and the final checkpoint comes back", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      "fitness-assistant": [
        { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "A 20-minute HIIT plan" } }] },
        (request) => ({ text: `Logged: ${lastInput(request)}` }),
      ],
      "pro-trainer": [{ text: "Burpees 40s on, 20s off, x20" }],
    })
    await writeFile(path.join(ws.dir, "perstack.toml"), configText(llm.url, FITNESS))
    const events: PerstackEvent[] = []
    const checkpoint = await run({
      setting: {
        model: "claude-sonnet-4-5-20250929",
        providerConfig: { providerName: "openai" },
        expertKey: "fitness-assistant",
        input: { text: "Start today's session" },
        workspace: ws.dir,
        env: { ...ENV, OPENAI_API_KEY: "sk-test-key" },
      },
      eventListener: (event) => {
        events.push(event)
      },
      onWarning: () => {},
    })

    expect(checkpoint).toMatchObject({ status: "completed", expert: { key: "fitness-assistant" } })
    expect(answerOf(checkpoint)).toBe("Logged: Burpees 40s on, 20s off, x20")
    expect(checkpointSchema.parse(checkpoint)).toEqual(checkpoint)
    // The setting's model reached the provider; the file's provider settings (the base URL) were kept.
    expect(llm.requests.map((request) => (request.body as { model?: string }).model)).toEqual([
      "claude-sonnet-4-5-20250929",
      "claude-sonnet-4-5-20250929",
      "claude-sonnet-4-5-20250929",
    ])

    const milestones = events.flatMap((event) =>
      ["startRun", "stopRunByDelegate", "completeRun"].includes(event.type)
        ? [`${event.type} ${"expertKey" in event ? event.expertKey : ""}`]
        : [],
    )
    expect(milestones).toEqual([
      "startRun fitness-assistant",
      "stopRunByDelegate fitness-assistant",
      "startRun pro-trainer",
      "completeRun pro-trainer",
      "startRun fitness-assistant",
      "completeRun fitness-assistant",
    ])
    expect(events[0]?.type).toBe("sandboxStarted")
    expect(events.at(-1)?.type).toBe("sandboxExited")
    expect(new Set(events.map((event) => event.jobId))).toEqual(new Set([checkpoint.jobId]))
    const last = events.findLast((event) => event.type === "completeRun")
    expect(last?.type === "completeRun" && last.checkpoint.id).toBe(checkpoint.id)
    // Without storage callbacks the job is stored in the workspace, as the CLI stores it.
    expect(existsSync(path.join(ws.dir, "perstack/jobs", checkpoint.jobId, "job.json"))).toBe(true)
  })

  it("hands every checkpoint to storeCheckpoint, whole, and writes nothing into the workspace's perstack/", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      "fitness-assistant": [
        { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "Leg day" } }] },
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "fitness-log.md", text: "legs\n" } }] },
        { text: "Logged." },
      ],
      "pro-trainer": [{ text: "Squats 5x5" }],
    })
    const stored: Checkpoint[] = []
    const events: PerstackEvent[] = []
    const privateStores = async () =>
      (await readdir(tmpdir())).filter((name) => name.startsWith("perstack-store-"))
    const before = await privateStores()
    const checkpoint = await run(
      {
        setting: {
          providerConfig: { providerName: "openai", baseUrl: llm.url, apiKey: "sk-test-key" },
          expertKey: "fitness-assistant",
          input: { text: "Plan legs" },
          workspace: ws.dir,
          env: ENV,
        },
        config: configText("http://127.0.0.1:9/v1", FITNESS),
        eventListener: (event) => {
          events.push(event)
        },
        onWarning: () => {},
      },
      {
        storeCheckpoint: async (made) => {
          stored.push(made)
        },
      },
    )
    expect(checkpoint.status).toBe("completed")
    expect(await readFile(path.join(ws.dir, "fitness-log.md"), "utf8")).toBe("legs\n")
    expect(existsSync(path.join(ws.dir, "perstack"))).toBe(false)
    // The job's records lived in a private folder, removed once run() returned.
    expect((await privateStores()).filter((name) => !before.includes(name))).toEqual([])

    // One per finished step and one per run's end, of every Expert, each once, in the order they were made.
    const made = events.flatMap((event) =>
      event.type === "continueToNextStep" ||
      event.type === "completeRun" ||
      event.type === "stopRunByDelegate"
        ? [event.checkpoint.id]
        : [],
    )
    expect(stored.map((entry) => entry.id)).toEqual(made)
    expect(stored.map((entry) => [entry.expert.key, entry.status])).toEqual([
      ["fitness-assistant", "stoppedByDelegate"],
      ["pro-trainer", "completed"],
      // the delegate's answer taken in, then the file written
      ["fitness-assistant", "proceeding"],
      ["fitness-assistant", "proceeding"],
      ["fitness-assistant", "completed"],
    ])
    for (const entry of stored) expect(checkpointSchema.parse(entry)).toEqual(entry)
    // Whole: the coordinator's last checkpoint holds its whole conversation, as the resolved value does.
    expect(stored.at(-1)).toEqual(checkpoint)
    expect(checkpoint.messages.length).toBeGreaterThan(stored[0]?.messages.length ?? 0)
  })

  it("resumes from a checkpoint retrieveCheckpoint returns: an interactive answer, then a follow-up", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      asker: [
        { toolCalls: [{ id: "q", name: "ask__confirm", arguments: { question: "Delete it?" } }] },
        (request) => ({ text: `You said ${lastInput(request)}` }),
        (request) => ({ text: `And then: ${lastInput(request)}` }),
      ],
    })
    const saved = new Map<string, Checkpoint>()
    const storage = {
      storeCheckpoint: async (checkpoint: Checkpoint) => {
        saved.set(checkpoint.id, structuredClone(checkpoint))
      },
      retrieveCheckpoint: async (jobId: string, id: string) => {
        const found = saved.get(id)
        if (!found || found.jobId !== jobId) throw new Error(`no checkpoint ${id}`)
        return found
      },
    }
    const setting = {
      providerConfig: { providerName: "openai" as const, baseUrl: llm.url, apiKey: "sk-test-key" },
      expertKey: "asker",
      workspace: ws.dir,
      env: ENV,
    }
    const config = configText(llm.url, FITNESS)
    const waiting = await run({ setting: { ...setting, input: { text: "Tidy up" } }, config, ...storage })
    expect(waiting).toMatchObject({
      status: "stoppedByInteractiveTool",
      pendingToolCalls: [{ id: "q", toolName: "confirm" }],
    })

    // A new process would only have the ids: the job's and the checkpoint's.
    const answered = await run({
      setting: {
        ...setting,
        jobId: waiting.jobId,
        input: {
          interactiveToolCallResult: { toolCallId: "q", toolName: "confirm", skillName: "ask", text: "yes" },
        },
      },
      resumeFrom: waiting.id,
      config,
      ...storage,
    })
    expect(answered).toMatchObject({ status: "completed", jobId: waiting.jobId })
    expect(answerOf(answered)).toBe("You said yes")
    // The resumed conversation is the old one continued: the first question is still in it.
    expect(JSON.stringify(answered.messages)).toContain("Delete it?")

    const followed = await run({
      setting: { ...setting, input: { text: "Anything else?" } },
      checkpoint: answered,
      config,
      ...storage,
    })
    expect(answerOf(followed)).toBe("And then: Anything else?")
    expect(followed.stepNumber).toBeGreaterThan(answered.stepNumber)
    expect(existsSync(path.join(ws.dir, "perstack"))).toBe(false)
  })

  it("stops the job gracefully when the signal aborts, and the cancelled checkpoint resumes to the end", async () => {
    await using ws = await makeJobWorkspace()
    const controller = new AbortController()
    await using llm = await startExpertScript({
      writer: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "draft.md", text: "half" } }] },
        () => {
          controller.abort()
          return { type: "stall" }
        },
        (request) => ({ text: `Done after: ${lastInput(request)}` }),
      ],
    })
    const saved: Checkpoint[] = []
    const storeCheckpoint = (checkpoint: Checkpoint) => {
      saved.push(checkpoint)
    }
    const setting = {
      providerConfig: { providerName: "openai" as const, baseUrl: llm.url, apiKey: "sk-test-key" },
      expertKey: "writer",
      workspace: ws.dir,
      env: ENV,
    }
    const config = configText(llm.url, FITNESS)
    const cancelled = await run({
      setting: { ...setting, input: { text: "Write a draft" }, signal: controller.signal },
      config,
      storeCheckpoint,
    })
    expect(cancelled.status).toBe("stoppedByCancel")
    expect(saved.at(-1)).toEqual(cancelled)

    const finished = await run({
      setting: { ...setting, input: {} },
      checkpoint: cancelled,
      config,
      storeCheckpoint,
    })
    expect(finished.status).toBe("completed")
    expect(answerOf(finished)).toBe(
      "Done after: The run was interrupted. Continue the task where you left off.",
    )
    expect(JSON.stringify(llm.byExpert("writer").at(-1)?.body)).toContain("draft.md")
  })

  it("resumes a job aborted during a delegation from the coordinator's checkpoint: the delegate runs again", async () => {
    await using ws = await makeJobWorkspace()
    const controller = new AbortController()
    await using llm = await startExpertScript({
      "fitness-assistant": [
        { toolCalls: [{ id: "d", name: "delegate__pro-trainer", arguments: { query: "Leg day" } }] },
        (request) => ({ text: `Logged: ${lastInput(request)}` }),
      ],
      "pro-trainer": [
        () => {
          controller.abort()
          return { type: "stall" }
        },
        { text: "Squats 5x5" },
      ],
    })
    const saved = new Map<string, Checkpoint>()
    const storage = {
      storeCheckpoint: (checkpoint: Checkpoint) => {
        saved.set(checkpoint.id, checkpoint)
      },
      retrieveCheckpoint: (_jobId: string, id: string) => saved.get(id) as Checkpoint,
    }
    const setting = {
      providerConfig: { providerName: "openai" as const, baseUrl: llm.url, apiKey: "sk-test-key" },
      expertKey: "fitness-assistant",
      workspace: ws.dir,
      env: ENV,
    }
    const config = configText(llm.url, FITNESS)
    const stopped = await run({
      setting: { ...setting, input: { text: "Plan legs" } },
      signal: controller.signal,
      config,
      ...storage,
    })
    // The coordinator's last checkpoint is the one it stopped at to delegate; the job stopped while its delegate ran.
    expect(stopped).toMatchObject({
      status: "stoppedByDelegate",
      expert: { key: "fitness-assistant" },
      delegateTo: [{ toolCallId: "d" }],
    })

    const finished = await run({
      setting: { ...setting, jobId: stopped.jobId, input: {} },
      resumeFrom: stopped.id,
      config,
      ...storage,
    })
    expect(finished.status).toBe("completed")
    expect(answerOf(finished)).toBe("Logged: Squats 5x5")
    expect(llm.byExpert("pro-trainer").map(lastInput)).toEqual(["Leg day", "Leg day"])
  })

  it("stops the job when a storage callback fails, and says which one and why", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      writer: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "a.md", text: "a" } }] },
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "b.md", text: "b" } }] },
        { text: "done" },
      ],
    })
    const setting = {
      providerConfig: { providerName: "openai" as const, baseUrl: llm.url, apiKey: "sk-test-key" },
      expertKey: "writer",
      input: { text: "Write" },
      workspace: ws.dir,
      env: ENV,
    }
    const config = configText(llm.url, FITNESS)
    const failed = await run({
      setting,
      config,
      storeCheckpoint: () => {
        throw new Error("the database is down")
      },
    }).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(PerstackError)
    expect(failed).toMatchObject({
      code: "run.storeCheckpointFailed",
      message: "storeCheckpoint failed: the database is down",
    })

    await expect(
      run({
        setting: { ...setting, jobId: "j1" },
        resumeFrom: "c1",
        config,
        retrieveCheckpoint: async () => ({ id: "c1" }) as never,
      }),
    ).rejects.toThrow(/^retrieveCheckpoint\(j1, c1\) returned no valid checkpoint: protocolVersion: /)
  })

  it("refuses an unknown setting key by name, and warns of upstream keys it ignores", async () => {
    await using ws = await makeJobWorkspace()
    const base = { expertKey: "writer", input: { text: "hi" }, workspace: ws.dir }
    await expect(run({ setting: { ...base, maxStep: 3 } as never, config: FITNESS })).rejects.toMatchObject({
      name: "PerstackError",
      code: "usage",
      message: expect.stringMatching(
        /^run\(\): unknown key "setting\.maxStep" \(did you mean "maxSteps"\?\)/,
      ),
    })
    await expect(
      run({ setting: { ...base, providerConfig: { providerName: "openai", colour: "red" } } as never }),
    ).rejects.toThrow(/unknown key "setting\.providerConfig\.colour"/)
    await expect(
      run({ setting: { ...base, providerConfig: { providerName: "anthropic", organization: "acme" } } }),
    ).rejects.toThrow('setting.providerConfig.organization: not a setting of provider "anthropic"')
    await expect(run({ setting: base, shouldContinueRun: () => true } as never)).rejects.toThrow(
      /unknown key "shouldContinueRun"/,
    )
    await expect(run({ setting: { ...base, experts: {} } })).rejects.toThrow(
      /setting\.experts: inline Experts are not supported/,
    )

    // Ignored keys are said, and do not stop the job (which fails here for want of an Expert, after the warning).
    const warnings: string[] = []
    await expect(
      run({
        setting: { ...base, expertKey: "nobody", perstackApiBaseUrl: "https://api.perstack.ai", runId: "r1" },
        config: FITNESS,
        onWarning: (message) => warnings.push(message),
      }),
    ).rejects.toMatchObject({ code: "expert.notFound" })
    expect(warnings.filter((warning) => warning.startsWith("setting."))).toEqual([
      "setting.runId is ignored: run ids are made by the orchestrator, one per run segment",
      "setting.perstackApiBaseUrl is ignored: the Perstack API (registry Experts) is not used: Experts come from perstack.toml",
    ])
  })
})
