import { mkdtemp, readFile, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { createApiClient } from "../client/api-client.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { ASKER_EXPERT } from "../testing/job-harness.ts"
import { KEYS, startTestServer, type TestServer } from "./serve-test-harness.ts"

const EXPERTS = `[experts."writer"]
instruction = "Write."

[experts."lead"]
instruction = "Lead."
delegates = ["helper"]

[experts."helper"]
instruction = "Help."

${ASKER_EXPERT}`

async function api(
  server: TestServer,
  method: string,
  route: string,
  options: { key?: string | null; body?: string | object; headers?: Record<string, string> } = {},
) {
  const key = options.key === undefined ? KEYS.alice : options.key
  const body = typeof options.body === "string" ? options.body : options.body && JSON.stringify(options.body)
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...options.headers,
    },
    ...(body !== undefined ? { body } : {}),
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  }
}

const client = (server: TestServer, apiKey: string = KEYS.alice, extra: { fetch?: typeof fetch } = {}) =>
  createApiClient({ baseUrl: server.url, apiKey, ...extra })

/** Every event of the job with its SSE id, from the start (or after `lastEventId`) to `complete`. */
async function streamAll(server: TestServer, jobId: string, lastEventId?: string) {
  const stream = await client(server).jobs.stream(jobId, lastEventId ? { lastEventId } : {})
  if (!stream.ok) throw new Error(stream.error.message)
  const events: PerstackEvent[] = []
  for await (const event of stream.data.events) events.push(event)
  const result = await stream.data.result
  if (!result.ok) throw new Error(result.error.message)
  return { events, job: result.data.job, errors: result.data.errors, lastEventId: stream.data.lastEventId }
}

async function startJob(server: TestServer, body: object, key: string = KEYS.alice) {
  const started = await client(server, key).jobs.start(body as never)
  if (!started.ok) throw new Error(started.error.message)
  return started.data.data.job.id
}

describe("perstack serve: the Execution API", () => {
  it("starts a job, streams its events to a final complete event, lists it, and takes a follow-up", async () => {
    await using llm = await startExpertScript({ writer: [{ text: "a poem" }, { text: "a second poem" }] })
    await using server = await startTestServer(llm.url, EXPERTS)
    const started = await client(server).jobs.start({ expertKey: "writer", query: "Write a poem" })
    expect(started.ok).toBe(true)
    if (!started.ok) return
    const jobId = started.data.data.job.id
    expect(["queued", "init", "proceeding"]).toContain(started.data.data.job.status)

    const first = await streamAll(server, jobId)
    expect(first.events.map((event) => event.type)).toEqual([
      "sandboxStarted",
      "initializeRuntime",
      "startRun",
      "startGeneration",
      "completeRun",
      "sandboxExited",
    ])
    expect(first.job.status).toBe("completed")
    expect(first.job.running).toBe(false)

    const listed = await client(server).jobs.list()
    expect(listed.ok && listed.data.data.jobs.map((job) => job.id)).toEqual([jobId])
    const checkpoints = await client(server).jobs.checkpoints(jobId)
    expect(checkpoints.ok && checkpoints.data.data.checkpoints.at(-1)?.status).toBe("completed")

    // A completed job needs a query to go on; then the stream resumed after the last id carries only the new events.
    const noQuery = await client(server).jobs.continue(jobId, {})
    expect(noQuery.ok || noQuery.error).toMatchObject({ type: "http", status: 400, field: "query" })
    const continued = await client(server).jobs.continue(jobId, { query: "Another" })
    expect(continued.ok).toBe(true)
    const second = await streamAll(server, jobId, first.lastEventId)
    expect(second.events.map((event) => event.type)).toEqual(first.events.map((event) => event.type))
    expect(second.events.find((event) => event.type === "completeRun")).toMatchObject({
      text: "a second poem",
    })
    expect(new Set([...first.events, ...second.events].map((event) => event.id)).size).toBe(12)
    expect(second.job.record?.totalSteps).toBe(2)
  })

  it("takes an interactive answer, and refuses a plain follow-up while the job waits for one", async () => {
    await using llm = await startExpertScript({
      asker: [
        { toolCalls: [{ id: "q", name: "ask__confirm", arguments: { question: "sure?" } }] },
        { text: "confirmed" },
      ],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, { expertKey: "asker", query: "Ask me" })
    const waiting = await streamAll(server, jobId)
    expect(waiting.job.status).toBe("stoppedByInteractiveTool")

    const plain = await api(server, "POST", `/api/v1/jobs/${jobId}/continue`, { body: { query: "hi" } })
    expect(plain.status).toBe(409)
    expect(plain.json.error.code).toBe("job.waitingForAnswer")
    const answered = await client(server).jobs.continue(jobId, { interactiveAnswer: "yes", toolCallId: "q" })
    expect(answered.ok).toBe(true)
    const rest = await streamAll(server, jobId, waiting.lastEventId)
    expect(rest.job.status).toBe("completed")
    expect(rest.events.at(-2)).toMatchObject({ type: "completeRun", text: "confirmed" })
  })

  it("cancels a running job, which stays resumable: continue with no query picks it up where it stopped", async () => {
    await using llm = await startExpertScript({
      writer: [{ text: "slow", delayMs: 30_000 }, { text: "resumed" }],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, { expertKey: "writer", query: "Write" })
    await expect.poll(() => llm.requests.length, { timeout: 10_000 }).toBe(1)
    const cancelled = await client(server).jobs.cancel(jobId)
    expect(cancelled.ok).toBe(true)
    const stopped = await streamAll(server, jobId)
    expect(stopped.job.status).toBe("stoppedByCancel")
    const again = await api(server, "POST", `/api/v1/jobs/${jobId}/cancel`)
    expect(again.status).toBe(409)

    expect((await client(server).jobs.continue(jobId, {})).ok).toBe(true)
    const resumed = await streamAll(server, jobId, stopped.lastEventId)
    expect(resumed.job.status).toBe("completed")
    expect(resumed.events.find((event) => event.type === "completeRun")).toMatchObject({ text: "resumed" })
  })

  it("continues a job stopped by the step budget with {} once the server has steps to give, and refuses it before", async () => {
    const root = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-serve-steps-")))
    try {
      await using llm = await startExpertScript({
        writer: [{ toolCalls: [{ name: "healthCheck", arguments: {} }] }, { text: "done at last" }],
      })
      const settings = { maxRetries: 0, timeout: 10_000, reasoningBudget: "none" as const }
      const jobFile = (jobId: string) =>
        path.join(root, "workspaces", jobId, "perstack", "jobs", jobId, "job.json")
      let jobId: string
      {
        await using first = await startTestServer(llm.url, EXPERTS, {
          root,
          settings: { ...settings, maxSteps: 1 },
        })
        jobId = await startJob(first, { expertKey: "writer", query: "Write" })
        expect((await streamAll(first, jobId)).job.status).toBe("stoppedByExceededMaxSteps")
        const before = await readFile(jobFile(jobId), "utf8")
        const refused = await api(first, "POST", `/api/v1/jobs/${jobId}/continue`, { body: {} })
        expect(refused.status).toBe(409)
        expect(refused.json.error).toMatchObject({ code: "job.noStepsLeft" })
        expect(refused.json.error.message).toContain("has taken 1 of its 1 steps")
        expect(await readFile(jobFile(jobId), "utf8")).toBe(before)
      }
      await using second = await startTestServer(llm.url, EXPERTS, {
        root,
        settings: { ...settings, maxSteps: 5 },
      })
      const continued = await api(second, "POST", `/api/v1/jobs/${jobId}/continue`, { body: {} })
      expect(continued.status).toBe(202)
      const resumed = await streamAll(second, jobId)
      expect(resumed.job.status).toBe("completed")
      expect(resumed.events.find((event) => event.type === "completeRun")).toMatchObject({
        text: "done at last",
      })
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("resumes a stream cut mid-job from Last-Event-ID without losing or repeating an event, across runs", async () => {
    await using llm = await startExpertScript({
      lead: [{ toolCalls: [{ name: "delegate__helper", arguments: { query: "help" } }] }, { text: "done" }],
      helper: [{ text: "x".repeat(300), chunkSize: 5, delayMs: 400 }],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, { expertKey: "lead", query: "Go" })

    // A reader that stops early (its connection closes), mid-job.
    const controller = new AbortController()
    const cut = await client(server).jobs.stream(jobId, { signal: controller.signal })
    if (!cut.ok) throw new Error(cut.error.message)
    const before: PerstackEvent[] = []
    for await (const event of cut.data.events) {
      before.push(event)
      if (event.type === "sandboxStarted" && event.expertKey === "helper") break
    }
    const stillRunning = await client(server).jobs.get(jobId)
    expect(stillRunning.ok && stillRunning.data.data.job.running).toBe(true)
    const after = await streamAll(server, jobId, cut.data.lastEventId)
    const whole = await streamAll(server, jobId)
    expect([...before, ...after.events].map((event) => event.id)).toEqual(
      whole.events.map((event) => event.id),
    )
    expect(new Set(whole.events.map((event) => event.runId)).size).toBe(3)

    // The client reconnects by itself when the connection breaks: a fetch whose stream body dies after 3 frames.
    let cuts = 0
    const flaky: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (!String(input).endsWith("/stream") || cuts++ > 0 || !response.body) return response
      let frames = 0
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            frames += new TextDecoder().decode(chunk).split("\n\n").length - 1
            if (frames > 3) out.error(new TypeError("terminated"))
            else out.enqueue(chunk)
          },
        }),
      )
      return new Response(body, { status: response.status, headers: response.headers })
    }
    const resilient = await client(server, KEYS.alice, { fetch: flaky }).jobs.stream(jobId, {
      reconnectDelayMs: 10,
    })
    if (!resilient.ok) throw new Error(resilient.error.message)
    const seen: string[] = []
    for await (const event of resilient.data.events) seen.push(event.id)
    expect(cuts).toBeGreaterThan(1)
    expect(seen).toEqual(whole.events.map((event) => event.id))
  })

  it("gives 300 SSE clients attaching while a job starts every event, and loses none of its delegates'", async () => {
    await using llm = await startExpertScript({
      lead: [
        {
          toolCalls: [
            { name: "delegate__helper", arguments: { query: "first" } },
            { name: "delegate__helper", arguments: { query: "second" } },
          ],
        },
        { text: "done" },
      ],
      helper: [{ text: "one" }, { text: "two" }],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, { expertKey: "lead", query: "Go" })
    const streams = await Promise.all(Array.from({ length: 300 }, () => streamAll(server, jobId)))
    const whole = await streamAll(server, jobId)
    expect(whole.job.status).toBe("completed")
    for (const stream of streams) {
      expect(stream.events.map((event) => event.id)).toEqual(whole.events.map((event) => event.id))
    }
    const helperRuns = [
      ...new Set(
        whole.events
          .filter((event) => event.type === "sandboxStarted" && event.expertKey === "helper")
          .map((event) => event.runId),
      ),
    ]
    expect(helperRuns).toHaveLength(2)
    for (const runId of helperRuns) {
      expect(whole.events.filter((event) => event.runId === runId).map((event) => event.type)).toEqual([
        "sandboxStarted",
        "initializeRuntime",
        "startRun",
        "startGeneration",
        "completeRun",
        "sandboxExited",
      ])
    }
  })

  it("takes the seeds' body: applicationId is stored with the job, returned, and filters the list", async () => {
    await using llm = await startExpertScript({
      "fitness-assistant": [{ text: "Warm up first." }, { text: "ok" }],
    })
    await using server = await startTestServer(
      llm.url,
      `[experts."fitness-assistant"]\ninstruction = "Coach."\n${EXPERTS}`,
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          OPENAI_API_KEY: "sk-test-serve-key",
          ANTHROPIC_API_KEY: "sk-ant-test-serve-key",
          ANTHROPIC_BASE_URL: llm.url,
        },
      },
    )
    // The seeds' curl body, word for word.
    const body = {
      applicationId: "your-app-id",
      expertKey: "fitness-assistant",
      query: "Start today's session",
      provider: "anthropic",
    } as const
    const started = await client(server).jobs.start(body)
    if (!started.ok) throw new Error(started.error.message)
    expect(started.data.data.job).toMatchObject({ applicationId: "your-app-id", provider: "anthropic" })
    const jobId = started.data.data.job.id
    const { job } = await streamAll(server, jobId)
    expect([job.status, job.applicationId]).toEqual(["completed", "your-app-id"])
    const other = await startJob(server, {
      applicationId: "other-app",
      expertKey: "fitness-assistant",
      query: "q",
    })
    await streamAll(server, other)
    await startJob(server, { expertKey: "writer", query: "none" }).then((id) => streamAll(server, id))

    const ids = async (filter: Parameters<ReturnType<typeof client>["jobs"]["list"]>[0]) => {
      const listed = await client(server).jobs.list(filter)
      if (!listed.ok) throw new Error(listed.error.message)
      return listed.data.data.jobs.map((listedJob) => [listedJob.id, listedJob.applicationId])
    }
    expect(await ids({ applicationId: "your-app-id" })).toEqual([[jobId, "your-app-id"]])
    expect(await ids({ applicationId: "other-app", status: "completed" })).toEqual([[other, "other-app"]])
    expect(await ids({ applicationId: "nobody" })).toEqual([])
    expect(await ids(undefined)).toHaveLength(3)
    // The request really went to the provider named in the body: its key, not the config's.
    expect(
      llm.requests.some((request) => request.headers.authorization === "Bearer sk-ant-test-serve-key"),
    ).toBe(true)
    // Another key sees none of them, filter or not.
    const bobs = await client(server, KEYS.bob).jobs.list({ applicationId: "your-app-id" })
    expect(bobs.ok && bobs.data.data.jobs).toEqual([])
  })

  it("isolates keys: another key's job is a 404 everywhere, and a missing or wrong key is a 401", async () => {
    await using llm = await startExpertScript({ writer: [{ text: "mine" }] })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, { expertKey: "writer", query: "Write" })
    for (const [method, route] of [
      ["GET", `/api/v1/jobs/${jobId}`],
      ["GET", `/api/v1/jobs/${jobId}/checkpoints`],
      ["GET", `/api/v1/jobs/${jobId}/stream`],
      ["POST", `/api/v1/jobs/${jobId}/continue`],
      ["POST", `/api/v1/jobs/${jobId}/cancel`],
    ] as const) {
      const response = await api(server, method, route, {
        key: KEYS.bob,
        ...(method === "POST" ? { body: {} } : {}),
      })
      expect(response.status, `${method} ${route}`).toBe(404)
    }
    const bobs = await client(server, KEYS.bob).jobs.list()
    expect(bobs.ok && bobs.data.data.jobs).toEqual([])
    expect((await api(server, "GET", "/api/v1/jobs", { key: null })).status).toBe(401)
    const wrong = await client(server, "psk-not-a-key").jobs.get(jobId)
    expect(wrong.ok || wrong.error).toMatchObject({ type: "http", status: 401, code: "auth.invalid" })
    await streamAll(server, jobId)
    // No secret in any log line or response.
    const everything =
      server.logs.join("\n") + JSON.stringify(await api(server, "GET", `/api/v1/jobs/${jobId}`))
    for (const secret of [KEYS.alice, KEYS.bob, "sk-test-serve-key"]) expect(everything).not.toContain(secret)
  })

  it("answers malformed, oversized and misdirected requests with a 4xx naming what is wrong", async () => {
    await using llm = await startExpertScript({})
    await using server = await startTestServer(llm.url, EXPERTS, { maxBodyBytes: 1024 })
    const post = (body: string | object, headers?: Record<string, string>) =>
      api(server, "POST", "/api/v1/jobs", { body, ...(headers ? { headers } : {}) })

    expect((await post("{not json")).json.error.code).toBe("body.invalidJson")
    const missing = await post({ expertKey: "writer" })
    expect([missing.status, missing.json.error.field]).toEqual([400, "query"])
    const wrongType = await post({ expertKey: "writer", query: 42 })
    expect(wrongType.json.error).toMatchObject({ field: "query" })
    expect(wrongType.json.error.message).toMatch(/^"query": /)
    const extra = await post({ expertKey: "writer", query: "q", applicationID: "x" })
    expect([extra.status, extra.json.error.field]).toEqual([400, "applicationID"])
    const spaced = await post({ expertKey: "writer", query: "q", applicationId: "my app" })
    expect([spaced.status, spaced.json.error.field]).toEqual([400, "applicationId"])
    const badFilter = await api(server, "GET", "/api/v1/jobs?app=x")
    expect([badFilter.status, badFilter.json.error.code, badFilter.json.error.field]).toEqual([
      400,
      "query.invalid",
      "app",
    ])
    const unknown = await post({ expertKey: "nobody", query: "q" })
    expect([unknown.status, unknown.json.error.field]).toEqual([400, "expertKey"])
    expect(unknown.json.error.message).toContain("writer")
    const provider = await post({ expertKey: "writer", query: "q", provider: "anthropic" })
    expect([provider.status, provider.json.error.field]).toEqual([400, "provider"])
    expect((await post({ expertKey: "writer", query: "x".repeat(2000) })).status).toBe(413)
    expect((await post("a=b", { "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(415)
    expect((await api(server, "DELETE", "/api/v1/jobs")).status).toBe(405)
    expect((await api(server, "GET", "/api/v1/nothing")).status).toBe(404)
    expect((await api(server, "GET", "/api/v1/jobs/..%2F..%2Fetc")).status).toBe(404)
    const badId = await api(server, "GET", "/api/v1/jobs/x/stream", { headers: { "Last-Event-ID": "nope" } })
    expect(badId.status).toBe(404)

    // The client checks bodies before sending them.
    const local = await client(server).jobs.start({ expertKey: "", query: "q" })
    expect(local.ok || local.error).toMatchObject({ type: "validation", field: "expertKey" })
    const aborted = await client(server).jobs.list({}, { signal: AbortSignal.abort() })
    expect(aborted.ok || aborted.error.type).toBe("abort")
    const down = await createApiClient({ baseUrl: "http://127.0.0.1:9", apiKey: "k" }).jobs.list()
    expect(down.ok || down.error.type).toBe("network")
    const keyless = await createApiClient({ baseUrl: server.url, apiKey: "" }).jobs.list()
    expect(keyless.ok || keyless.error).toMatchObject({ type: "validation", field: "apiKey" })
  })

  it("takes 100 concurrent submissions: a bounded number run, a bounded queue waits, the rest get an honest 429", async () => {
    const accepted = 2 + 8
    await using llm = await startExpertScript({
      writer: Array.from({ length: accepted }, () => ({ text: "ok" })),
    })
    await using server = await startTestServer(llm.url, EXPERTS, { maxRunning: 2, maxQueued: 8 })
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api(server, "POST", "/api/v1/jobs", { body: { expertKey: "writer", query: `job ${i}` } }),
      ),
    )
    const ok = responses.filter((response) => response.status === 202)
    const refused = responses.filter((response) => response.status === 429)
    expect([ok.length, refused.length]).toEqual([accepted, 100 - accepted])
    for (const response of refused) {
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(response.json.error.code).toBe("queue.full")
    }
    const jobs = ok.map((response) => response.json.data.job)
    expect(jobs.filter((job) => job.status === "queued").length).toBeGreaterThanOrEqual(accepted - 2)
    // Nothing accepted is dropped: every one runs to completion.
    const finished = await Promise.all(jobs.map((job) => streamAll(server, job.id)))
    expect(finished.map((result) => result.job.status)).toEqual(jobs.map(() => "completed"))
    expect(llm.unused()).toEqual({ writer: 0 })
    // Room again: a new submission is accepted.
    expect(
      (await api(server, "POST", "/api/v1/jobs", { body: { expertKey: "writer", query: "later" } })).status,
    ).toBe(202)
  }, 60_000)

  it("shuts down gracefully: a running job stops resumable, a queued one survives the restart and runs", async () => {
    const root = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-serve-restart-")))
    try {
      await using llm = await startExpertScript({
        writer: [{ text: "slow", delayMs: 30_000 }, { text: "queued one" }, { text: "resumed" }],
      })
      const first = await startTestServer(llm.url, EXPERTS, { root, maxRunning: 1 })
      const running = await startJob(first, { expertKey: "writer", query: "first" })
      const queued = await startJob(first, { expertKey: "writer", query: "second" })
      await expect.poll(() => llm.requests.length, { timeout: 10_000 }).toBe(1)
      await first.close()
      await expect(fetch(`${first.url}/healthz`)).rejects.toThrow()

      await using second = await startTestServer(llm.url, EXPERTS, { root, maxRunning: 1 })
      const requeued = await streamAll(second, queued)
      expect(requeued.job.status).toBe("completed")
      const stopped = await client(second).jobs.get(running)
      expect(stopped.ok && stopped.data.data.job.status).toBe("stoppedByCancel")
      expect((await client(second).jobs.continue(running, {})).ok).toBe(true)
      expect((await streamAll(second, running)).job.status).toBe("completed")
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
