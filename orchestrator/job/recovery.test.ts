import { writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { parseConfigText } from "../config/load-config.ts"
import { createLocalBackend } from "../sandbox/local/local-backend.ts"
import type { SandboxBackend } from "../sandbox/sandbox.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import {
  ASKER_EXPERT,
  configText,
  makeJobWorkspace,
  RUNTIME_SOURCE,
  runTestJob,
} from "../testing/job-harness.ts"
import { runJob } from "./run-job.ts"
import { resolveSettings } from "./settings.ts"

const PAIR = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."

${ASKER_EXPERT}`

const pidOf = (events: PerstackEvent[], expertKey: string) => {
  const started = events.findLast((event) => event.type === "sandboxStarted" && event.expertKey === expertKey)
  return started?.type === "sandboxStarted" ? Number(started.sandboxId.replace("pid:", "")) : undefined
}

describe("when things go wrong", () => {
  it("a sandbox killed mid-run, with no retries left, becomes an error for its parent, with its exit and nothing it sent lost", async () => {
    await using ws = await makeJobWorkspace()
    const events: PerstackEvent[] = []
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        (request) => ({ text: `Noted: ${lastInput(request)}` }),
      ],
      worker: [
        () => {
          process.kill(pidOf(events, "worker") ?? 0, "SIGKILL")
          return { type: "stall" }
        },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, PAIR),
      expertKey: "lead",
      query: "Go",
      settings: { crashRetries: 0 },
      onEvent: (event) => events.push(event),
    })
    expect(result.status).toBe("completed")
    expect(result.text).toMatch(
      /^Noted: Error: The delegate "worker" failed: the sandbox ended \(signal SIGKILL\) without finishing the run/,
    )
    const worker = (await ws.store.listRuns(result.job.id)).find((run) => run.expertKey === "worker")
    expect(worker).toMatchObject({ status: "stoppedByError", error: { code: "sandbox.crashed" } })
    const types: string[] = []
    for await (const event of ws.store.readEvents(result.job.id, worker?.id ?? "")) types.push(event.type)
    expect(types).toEqual([
      "sandboxStarted",
      "initializeRuntime",
      "startRun",
      "startGeneration",
      "sandboxExited",
      "stopRunByError",
    ])
  })

  it("keeps garbage on a sandbox's stdout as outputRejected records, takes a 10 MB event, and the job goes on", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ worker: [{ text: "done despite the noise" }] })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, PAIR),
      expertKey: "worker",
      query: "Go",
      backend: { runtimeEntry: path.resolve(import.meta.dirname, "../testing/fixtures/noisy-runtime.ts") },
    })
    expect(result).toMatchObject({ status: "completed", text: "done despite the noise" })
    const rejected = result.events.filter((event) => event.type === "outputRejected")
    expect(
      rejected.map((event) =>
        event.type === "outputRejected" ? [event.reason, event.sample.slice(0, 20)] : [],
      ),
    ).toEqual([
      ["notJson", "Debugger listening o"],
      ["notJson", '{"type": "startRun",'],
      ["invalidEvent", "[1, 2, 3]"],
    ])
    const big = result.events.find((event) => event.type === "skillStderr")
    expect(big?.type === "skillStderr" && big.message.length).toBe(10 * 1024 * 1024)
  })

  it("Ctrl-C stops every sandbox and leaves the job resumable; --continue-job finishes it", async () => {
    await using ws = await makeJobWorkspace()
    const controller = new AbortController()
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        (request) => ({ text: `Finished with: ${lastInput(request)}` }),
      ],
      worker: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "half.txt", text: "half" } }] },
        () => {
          controller.abort()
          return { type: "stall" }
        },
        (request) => ({ text: `resumed after: ${lastInput(request)}` }),
      ],
    })
    const toml = configText(llm.url, PAIR)
    const first = await runTestJob(ws, { toml, expertKey: "lead", query: "Go", signal: controller.signal })
    expect(first.status).toBe("stoppedByCancel")
    expect((await ws.store.readJob(first.job.id))?.status).toBe("stoppedByCancel")
    const runsAfterCancel = await ws.store.listRuns(first.job.id)
    expect(runsAfterCancel.map((run) => [run.expertKey, run.status])).toEqual([
      ["lead", "stoppedByDelegate"],
      ["worker", "stoppedByCancel"],
    ])

    const second = await runTestJob(ws, { toml, expertKey: "lead", continueJob: { jobId: first.job.id } })
    expect(second).toMatchObject({
      status: "completed",
      text: `Finished with: resumed after: The run was interrupted. Continue the task where you left off.`,
    })
    // The worker continued its conversation (it had written half.txt), it did not start over.
    const resumedWorker = llm.byExpert("worker").at(-1)
    expect(JSON.stringify(resumedWorker?.body)).toContain("half.txt")
  })

  it("--resume-from goes back to an earlier checkpoint of the coordinator", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      worker: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "a.txt", text: "A" } }] },
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "b.txt", text: "B" } }] },
        { text: "wrote a and b" },
        (request) => ({ text: `again from step 1, told: ${lastInput(request)}` }),
      ],
    })
    const toml = configText(llm.url, PAIR)
    const first = await runTestJob(ws, { toml, expertKey: "worker", query: "write files" })
    const [step1] = await ws.store.listCheckpoints(first.job.id)
    expect(step1?.stepNumber).toBe(1)
    const second = await runTestJob(ws, {
      toml,
      expertKey: "worker",
      query: "only a, please",
      continueJob: { jobId: first.job.id, fromCheckpointId: step1?.id ?? "" },
    })
    expect(second).toMatchObject({ status: "completed", text: "again from step 1, told: only a, please" })
    const messages = JSON.stringify(llm.byExpert("worker").at(-1)?.body)
    expect(messages).toContain("a.txt")
    expect(messages).not.toContain("b.txt")
  })

  it("--resume-from without a query runs a mid-run checkpoint again from there, and refuses an ended one", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      worker: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "a.txt", text: "A" } }] },
        { text: "wrote a" },
        { text: "wrote a, the second time" },
      ],
    })
    const toml = configText(llm.url, PAIR)
    const first = await runTestJob(ws, { toml, expertKey: "worker", query: "write a" })
    const [step1, last] = await ws.store.listCheckpoints(first.job.id)
    expect([step1?.status, last?.status]).toEqual(["proceeding", "completed"])
    const before = await ws.store.readJob(first.job.id)
    await expect(
      runTestJob(ws, {
        toml,
        expertKey: "worker",
        continueJob: { jobId: first.job.id, fromCheckpointId: last?.id ?? "" },
      }),
    ).rejects.toThrow(`checkpoint ${last?.id} is completed: --resume-from needs a query`)
    expect(await ws.store.readJob(first.job.id)).toEqual(before)
    const again = await runTestJob(ws, {
      toml,
      expertKey: "worker",
      continueJob: { jobId: first.job.id, fromCheckpointId: step1?.id ?? "" },
    })
    expect(again).toMatchObject({ status: "completed", text: "wrote a, the second time" })
    // The model saw the conversation up to step 1 (the file written), and nothing of the first ending.
    const messages = JSON.stringify(llm.byExpert("worker").at(-1)?.body)
    expect(messages).toContain("a.txt")
    expect(messages).not.toContain('wrote a"')
  })

  it("an interactive stop is answered with -i and the run goes on", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      asker: [
        { toolCalls: [{ id: "ask", name: "ask__confirm", arguments: { question: "Delete everything?" } }] },
        (request) => ({ text: `The user said: ${lastInput(request)}` }),
      ],
    })
    const toml = configText(llm.url, PAIR)
    const first = await runTestJob(ws, { toml, expertKey: "asker", query: "Clean up" })
    expect(first.status).toBe("stoppedByInteractiveTool")
    expect(first.checkpoint?.pendingToolCalls?.[0]).toMatchObject({
      toolName: "confirm",
      args: { question: "Delete everything?" },
    })
    const second = await runTestJob(ws, {
      toml,
      expertKey: "asker",
      query: "no",
      continueJob: { jobId: first.job.id, interactiveAnswer: true },
    })
    expect(second).toMatchObject({ status: "completed", text: "The user said: no" })
  })
})

describe("a sandbox that cannot start", () => {
  it("is a failed run whose error reaches its parent, and the job goes on", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
        (request) => ({ text: `Noted: ${lastInput(request)}` }),
      ],
    })
    const toml = configText(llm.url, PAIR)
    await writeFile(path.join(ws.dir, "perstack.toml"), toml)
    const { config } = parseConfigText(toml, "perstack.toml")
    const local = createLocalBackend({ runtimeEntry: RUNTIME_SOURCE })
    // A backend that cannot start the worker's sandbox (as a missing image would).
    const backend: SandboxBackend = {
      name: "local",
      isolated: () => local.isolated(),
      start: (options) =>
        options.spec.expert.key === "worker"
          ? Promise.reject(
              new PerstackError("docker.imageMissing", "image perstack/sandbox:9.9 is not there"),
            )
          : local.start(options),
    }
    const result = await runJob({
      config,
      expertKey: "lead",
      query: "Go",
      workspace: ws.dir,
      backend,
      settings: resolveSettings(config, { maxRetries: 1 }),
      env: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-test" },
    })
    expect(result).toMatchObject({ status: "completed" })
    expect(result.text).toMatch(
      /^Noted: Error: The delegate "worker" failed: the sandbox could not start: image perstack\/sandbox:9\.9/,
    )
    const worker = (await ws.store.listRuns(result.job.id)).find((run) => run.expertKey === "worker")
    expect(worker).toMatchObject({ status: "stoppedByError", error: { code: "docker.imageMissing" } })
  })
})
