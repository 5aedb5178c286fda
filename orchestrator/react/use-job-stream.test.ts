import type { IncomingMessage, ServerResponse } from "node:http"
import { Text } from "ink"
import { render } from "ink-testing-library"
import { createElement, StrictMode, useEffect } from "react"
import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { createApiClient } from "../client/api-client.ts"
import { KEYS, startTestServer, type TestServer } from "../serve/serve-test-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import type { Activity } from "./activity.ts"
import { toActivities } from "./event-to-activity.ts"
import { type JobStreamResult, type UseJobStreamOptions, useJobStream } from "./use-job-stream.ts"
import { type RunResult, useRun } from "./use-run.ts"

const EXPERTS = `[experts."lead"]
instruction = "Lead."
delegates = ["helper"]

[experts."helper"]
instruction = "Help."

[experts."writer"]
instruction = "Write."
`

const describeActivity = (activity: Activity): string => {
  switch (activity.type) {
    case "query":
    case "complete":
      return `${activity.expertKey} ${activity.type}: ${activity.text}`
    case "delegate":
      return `${activity.expertKey} delegates to ${activity.delegateExpertKey}: ${activity.query}`
    case "delegationComplete":
      return `${activity.expertKey} got back: ${activity.results.map((result) => result.text).join(", ")}`
    case "generalTool":
      return `${activity.expertKey} ran ${activity.toolName}`
    default:
      return `${activity.expertKey} ${activity.type}`
  }
}

/** What an application renders: the status line, then one line per activity. */
function JobView(props: UseJobStreamOptions & { seen?: (result: JobStreamResult) => void }) {
  const { seen, ...options } = props
  const result = useJobStream(options)
  useEffect(() => seen?.(result))
  const head = `status: ${result.status ?? "-"}${result.isConnected ? " (connected)" : ""}${result.isDone ? " (done)" : ""}${result.error ? ` error: ${result.error.code} ${result.error.status}` : ""}`
  return createElement(Text, null, [head, ...result.activities.map(describeActivity)].join("\n"))
}

/** An application that pushes events itself. */
function Pushed({ expose }: { expose: (run: RunResult) => void }) {
  const run = useRun()
  expose(run)
  return createElement(Text, null, `${run.activities.length} ${run.isComplete}`)
}

const client = (server: TestServer, extra: { fetch?: typeof fetch; apiKey?: string } = {}) =>
  createApiClient({ baseUrl: server.url, apiKey: extra.apiKey ?? KEYS.alice, ...extra })

async function startJob(server: TestServer, expertKey: string, query: string) {
  const started = await client(server).jobs.start({ expertKey, query })
  if (!started.ok) throw new Error(started.error.message)
  return started.data.data.job.id
}

async function wholeStream(server: TestServer, jobId: string) {
  const stream = await client(server).jobs.stream(jobId)
  if (!stream.ok) throw new Error(stream.error.message)
  const events: PerstackEvent[] = []
  for await (const event of stream.data.events) events.push(event)
  return events
}

/** The server's view of its SSE responses: how many are open per job, and the Last-Event-ID each was asked with. */
function watchStreams(server: TestServer) {
  const open = new Map<string, number>()
  const seen = {
    lastEventIds: [] as Array<string | undefined>,
    openFor: (jobId: string) => open.get(jobId) ?? 0,
  }
  server.server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const jobId = /^\/api\/v1\/jobs\/([^/]+)\/stream$/.exec(request.url ?? "")?.[1]
    if (!jobId) return
    open.set(jobId, seen.openFor(jobId) + 1)
    seen.lastEventIds.push(request.headers["last-event-id"] as string | undefined)
    response.on("close", () => open.set(jobId, seen.openFor(jobId) - 1))
  })
  return seen
}

const frame = (view: { lastFrame: () => string | undefined }) => view.lastFrame() ?? ""

const DELEGATION = {
  lead: [
    { toolCalls: [{ name: "delegate__helper", arguments: { query: "check it" } }] },
    { text: "all done" },
  ],
  helper: [{ reasoning: "hm", toolCalls: [{ name: "healthCheck", arguments: {} }] }, { text: "checked" }],
}

describe("useJobStream against perstack serve", () => {
  it("shows a delegation job's activities in order as they happen, and its status going to completed", async () => {
    await using llm = await startExpertScript(DELEGATION)
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, "lead", "Check everything")
    const statuses: string[] = []
    // Under StrictMode, whose effects run twice: the first stream is opened and aborted at once.
    const view = render(
      createElement(
        StrictMode,
        null,
        createElement(JobView, {
          jobId,
          client: client(server),
          seen: (result) => {
            if (result.status && statuses.at(-1) !== result.status) statuses.push(result.status)
          },
        }),
      ),
    )
    try {
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("(done)")
      expect(frame(view).split("\n")).toEqual([
        "status: completed (done)",
        "lead query: Check everything",
        "lead delegates to helper: check it",
        "helper query: check it",
        "helper ran healthCheck",
        "helper complete: checked",
        "lead got back: checked",
        "lead complete: all done",
      ])
      expect(statuses.at(-1)).toBe("completed")
      expect(statuses).toContain("proceeding")
    } finally {
      view.unmount()
    }
  })

  it("resumes a dropped connection with Last-Event-ID: every event once, in order", async () => {
    await using llm = await startExpertScript({
      ...DELEGATION,
      helper: [{ text: "y".repeat(200), chunkSize: 5, delayMs: 300 }],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const streams = watchStreams(server)
    const jobId = await startJob(server, "lead", "Check everything")
    // The first connection's body dies after 4 SSE frames, mid-job.
    let cuts = 0
    const flaky: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (!String(input).endsWith("/stream") || cuts++ > 0 || !response.body) return response
      let frames = 0
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            frames += new TextDecoder().decode(chunk).split("\n\n").length - 1
            if (frames > 4) out.error(new TypeError("terminated"))
            else out.enqueue(chunk)
          },
        }),
      )
      return new Response(body, { status: response.status, headers: response.headers })
    }
    const received: PerstackEvent[] = []
    let seen: JobStreamResult | undefined
    const view = render(
      createElement(JobView, {
        jobId,
        client: client(server, { fetch: flaky }),
        reconnect: { reconnectDelayMs: 10 },
        onEvent: (event) => received.push(event),
        seen: (result) => {
          seen = result
        },
      }),
    )
    try {
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("(done)")
      const whole = await wholeStream(server, jobId)
      expect(cuts).toBeGreaterThan(1)
      expect(streams.lastEventIds[0]).toBeUndefined()
      expect(streams.lastEventIds[1]).toMatch(/.+/)
      expect(received.map((event) => event.id)).toEqual(whole.map((event) => event.id))
      await expect.poll(() => seen?.activities).toEqual(toActivities(whole))
    } finally {
      view.unmount()
    }
  })

  it("aborts the stream on unmount and when the job changes: the server sees the client go", async () => {
    await using llm = await startExpertScript({
      writer: [{ text: "slow", delayMs: 30_000 }, { text: "quick one" }],
    })
    await using server = await startTestServer(llm.url, EXPERTS)
    const streams = watchStreams(server)
    const slow = await startJob(server, "writer", "Take your time")
    await expect.poll(() => llm.requests.length, { timeout: 10_000 }).toBe(1)
    const api = client(server)
    const view = render(createElement(JobView, { jobId: slow, client: api }))
    try {
      await expect.poll(() => frame(view), { timeout: 10_000 }).toContain("writer query: Take your time")
      expect(streams.openFor(slow)).toBe(1)

      // Another job: the old stream is closed, and nothing of the old job stays on screen.
      const quick = await startJob(server, "writer", "Be quick")
      view.rerender(createElement(JobView, { jobId: quick, client: api }))
      await expect.poll(() => streams.openFor(slow), { timeout: 10_000 }).toBe(0)
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("(done)")
      expect(frame(view)).not.toContain("Take your time")
      expect(frame(view)).toContain("writer complete: quick one")

      view.rerender(createElement(JobView, { jobId: slow, client: api }))
      await expect.poll(() => streams.openFor(slow), { timeout: 10_000 }).toBe(1)
      await expect.poll(() => frame(view), { timeout: 10_000 }).toContain("Take your time")

      // Disabled, the stream closes; enabled again, it goes on after the last event it had.
      view.rerender(createElement(JobView, { jobId: slow, client: api, enabled: false }))
      await expect.poll(() => streams.openFor(slow), { timeout: 10_000 }).toBe(0)
      await expect.poll(() => frame(view)).not.toContain("(connected)")
      view.rerender(createElement(JobView, { jobId: slow, client: api }))
      await expect.poll(() => streams.openFor(slow), { timeout: 10_000 }).toBe(1)
      await expect.poll(() => frame(view)).toContain("(connected)")
      expect(streams.lastEventIds.at(-1)).toMatch(/.+/)
      expect(frame(view).split("\n")).toEqual([
        "status: proceeding (connected)",
        "writer query: Take your time",
      ])
    } finally {
      view.unmount()
    }
    // The job still runs: its stream ended because the client went.
    await expect.poll(() => streams.openFor(slow), { timeout: 10_000 }).toBe(0)
    const job = await api.jobs.get(slow)
    expect(job.ok && job.data.data.job.running).toBe(true)
    await api.jobs.cancel(slow)
  })

  it("reports a refused stream as an error that retrying will not fix", async () => {
    await using llm = await startExpertScript({ writer: [{ text: "mine" }] })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, "writer", "Write")
    let seen: JobStreamResult | undefined
    const view = render(
      createElement(JobView, {
        jobId,
        client: client(server, { apiKey: "psk-not-a-key" }),
        seen: (result) => {
          seen = result
        },
      }),
    )
    try {
      await expect.poll(() => frame(view), { timeout: 10_000 }).toContain("error: http 401")
      await expect
        .poll(() => seen?.error)
        .toMatchObject({ name: "JobStreamError", code: "http", status: 401, retryable: false })
      expect(seen?.isConnected).toBe(false)
    } finally {
      view.unmount()
    }
  })

  it("follows a follow-up after resume(), from where the stream stopped", async () => {
    await using llm = await startExpertScript({ writer: [{ text: "first" }, { text: "second" }] })
    await using server = await startTestServer(llm.url, EXPERTS)
    const jobId = await startJob(server, "writer", "One")
    const api = client(server)
    let seen: JobStreamResult | undefined
    const received: string[] = []
    const view = render(
      createElement(JobView, {
        jobId,
        client: api,
        onEvent: (event) => received.push(event.id),
        seen: (result) => {
          seen = result
        },
      }),
    )
    try {
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("(done)")
      expect((await api.jobs.continue(jobId, { query: "Two" })).ok).toBe(true)
      seen?.resume()
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("writer complete: second")
      await expect.poll(() => frame(view), { timeout: 30_000 }).toContain("(done)")
      expect(frame(view).split("\n")).toEqual([
        "status: completed (done)",
        "writer query: One",
        "writer complete: first",
        "writer query: Two",
        "writer complete: second",
      ])
      expect(received).toEqual((await wholeStream(server, jobId)).map((event) => event.id))
    } finally {
      view.unmount()
    }
  })
})

describe("useRun and useJobStream over events the caller supplies", () => {
  it("folds pushed events, and a connect function's events, into the same activities", async () => {
    await using llm = await startExpertScript(DELEGATION)
    await using server = await startTestServer(llm.url, EXPERTS)
    const events = await wholeStream(server, await startJob(server, "lead", "Check everything"))
    const expected = toActivities(events)

    let run: RunResult | undefined
    const pushed = render(
      createElement(Pushed, {
        expose: (result) => {
          run = result
        },
      }),
    )
    try {
      for (const event of events) run?.addEvent(event)
      await expect.poll(() => frame(pushed)).toBe(`${expected.length} true`)
      expect(run?.activities).toEqual(expected)
      expect(run?.status).toBe("completed")
    } finally {
      pushed.unmount()
    }

    let aborted = false
    const connected = render(
      createElement(JobView, {
        jobId: "any",
        connect: async function* (_jobId, signal) {
          signal.addEventListener("abort", () => {
            aborted = true
          })
          yield* events
          await new Promise(() => {})
        },
      }),
    )
    try {
      await expect.poll(() => frame(connected)).toContain("lead complete: all done")
      expect(frame(connected).split("\n")).toEqual([
        "status: completed (connected)",
        ...expected.map(describeActivity),
      ])
    } finally {
      connected.unmount()
    }
    expect(aborted).toBe(true)
  })
})
