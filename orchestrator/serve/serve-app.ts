// The Execution API's request handling: authentication, routing, the job endpoints and the SSE stream.
import type { IncomingMessage, ServerResponse } from "node:http"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import { type Clock, type IdGenerator, newId, systemClock } from "../../runtime/ids.ts"
import { continueJobBodySchema, jobListQuerySchema, startJobBodySchema } from "../http-api/api-schema.ts"
import { planContinue } from "../job/continue-job.ts"
import { checkProviderEnv } from "../job/sandbox-env.ts"
import type { ApiKeys } from "./api-keys.ts"
import { formatEventId, parseEventId } from "./event-id.ts"
import { DEFAULT_MAX_BODY_BYTES, readJsonBody, readQuery } from "./http-body.ts"
import { HttpError, jobNotFound } from "./http-error.ts"
import { JobActivity } from "./job-activity.ts"
import { checkPosition, followJob } from "./job-event-follower.ts"
import { type ApiJobRecord, JobRegistry } from "./job-registry.ts"
import { executeJob, type JobRequest, type JobRunnerContext, settingsFor } from "./job-runner.ts"
import { JobScheduler } from "./job-scheduler.ts"
import { jobView } from "./job-view.ts"
import { SseWriter } from "./sse-writer.ts"

export interface ServeAppOptions extends Omit<JobRunnerContext, "registry" | "activity"> {
  /** jobs' workspaces and the API's records live here */
  root: string
  apiKeys: ApiKeys
  /** jobs running at once (each runs sandboxes); default 2 */
  maxRunning?: number
  /** jobs waiting beyond those; default 32 */
  maxQueued?: number
  maxBodyBytes?: number
  /** one line per request and per job transition; never a key or a body */
  log?: (line: string) => void
  /** how a live stream follows the store (tests and benchmarks tune them) */
  follow?: { settleMs?: number; pollMs?: number }
  ids?: IdGenerator
  clock?: Clock
}

const JOB_PATH = /^\/api\/v1\/jobs\/([^/]+)(?:\/(checkpoints|stream|continue|cancel))?$/

export class ServeApp {
  readonly registry: JobRegistry
  readonly scheduler: JobScheduler
  readonly activity = new JobActivity()
  readonly #options: ServeAppOptions
  readonly #context: JobRunnerContext
  readonly #streams = new Set<AbortController>()
  readonly #log: (line: string) => void
  readonly #ids: IdGenerator
  readonly #clock: Clock
  #closing = false

  constructor(options: ServeAppOptions) {
    this.#options = options
    this.registry = new JobRegistry(options.root)
    this.#context = { ...options, registry: this.registry, activity: this.activity }
    this.#log = options.log ?? (() => {})
    this.#ids = options.ids ?? newId
    this.#clock = options.clock ?? systemClock
    this.scheduler = new JobScheduler({
      maxRunning: options.maxRunning ?? 2,
      maxQueued: options.maxQueued ?? 32,
      onError: (jobId, error) => this.#log(`job ${jobId} failed to run: ${messageOf(error)}`),
    })
  }

  /**
   * Queues again, at start-up, the jobs accepted before a restart that never reached the orchestrator, and resumes
   * those that were running when the previous server died (kill -9, a lost node): their job.json still says
   * `proceeding`; each is continued where it was, as `continue` with `{}` would. Jobs the previous server stopped
   * gracefully are `stoppedByCancel` and wait for their client. Returns how many were queued, and how many resumed.
   */
  async recover(): Promise<{ requeued: number; resumed: number }> {
    const counts = { requeued: 0, resumed: 0 }
    for (const record of await this.registry.list()) {
      if (record.cancelledAt !== undefined) continue
      const stored = await this.registry
        .store(record.id)
        .readJob(record.id)
        .catch(() => undefined)
      if (!stored) {
        if (record.error) continue
        this.scheduler.requeue(this.#task(record, { kind: "start" }))
        counts.requeued++
      } else if (stored.status === "proceeding" || stored.status === "init") {
        const next: ApiJobRecord = { ...record }
        delete next.error
        this.scheduler.requeue(this.#task(next, { kind: "continue" }))
        counts.resumed++
      }
    }
    return counts
  }

  /** Stops taking work, ends every stream (clients reconnect later), stops running jobs gracefully (resumable). */
  async close(): Promise<void> {
    this.#closing = true
    for (const stream of this.#streams) stream.abort()
    await this.scheduler.close()
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now()
    let owner: string | undefined
    response.once("finish", () => {
      const ms = (performance.now() - started).toFixed(1)
      this.#log(`${request.method} ${pathOf(request)} ${response.statusCode} ${ms} ms key=${owner ?? "-"}`)
    })
    try {
      const url = new URL(request.url ?? "/", "http://localhost")
      if (url.pathname === "/healthz" && request.method === "GET") {
        if (this.#closing) throw new HttpError(503, "server.shuttingDown", "the server is shutting down")
        return sendJson(response, 200, { ok: true })
      }
      if (this.#closing) throw new HttpError(503, "server.shuttingDown", "the server is shutting down")
      owner = this.#authenticate(request)
      await this.#route(request, response, url, owner)
    } catch (error) {
      const failure = asHttpError(error)
      if (failure.status >= 500) this.#log(`error ${request.method} ${request.url}: ${messageOf(error)}`)
      if (response.headersSent) response.destroy()
      else
        sendJson(
          response,
          failure.status,
          {
            error: {
              code: failure.code,
              message: failure.message,
              ...(failure.field ? { field: failure.field } : {}),
            },
          },
          failure.headers,
        )
    } finally {
      // Drain what the client still sends after an early answer (a 413), so the socket can be reused.
      if (!request.complete) request.resume()
    }
  }

  #authenticate(request: IncomingMessage): string {
    const header = request.headers.authorization ?? ""
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    const owner = match ? this.#options.apiKeys.owner(match[1] as string) : undefined
    if (!owner) {
      throw new HttpError(401, "auth.invalid", "send a valid API key as `Authorization: Bearer <key>`", {
        headers: { "WWW-Authenticate": 'Bearer realm="perstack"' },
      })
    }
    return owner
  }

  async #route(request: IncomingMessage, response: ServerResponse, url: URL, owner: string): Promise<void> {
    const method = request.method ?? "GET"
    if (url.pathname === "/api/v1/jobs") {
      if (method === "POST") return this.#start(request, response, owner)
      if (method === "GET") return this.#list(response, url, owner)
      throw methodNotAllowed("GET, POST")
    }
    const match = JOB_PATH.exec(url.pathname)
    if (!match) throw new HttpError(404, "route.notFound", `no endpoint ${url.pathname}`)
    const jobId = decodeURIComponent(match[1] as string)
    const action = match[2]
    const expected = action === "continue" || action === "cancel" ? "POST" : "GET"
    if (method !== expected) throw methodNotAllowed(expected)
    const record = await this.#owned(jobId, owner)
    switch (action) {
      case undefined:
        return sendJson(response, 200, { data: { job: await this.#view(record) } })
      case "checkpoints": {
        const checkpoints = await this.registry.store(record.id).listCheckpoints(record.id)
        return sendJson(response, 200, { data: { checkpoints } })
      }
      case "stream":
        return this.#stream(request, response, url, record)
      case "continue":
        return this.#continue(request, response, record)
      case "cancel":
        return this.#cancel(response, record)
    }
  }

  async #owned(jobId: string, owner: string): Promise<ApiJobRecord> {
    const record = await this.registry.read(jobId, owner).catch((error: unknown) => {
      // An id that cannot be a job (path characters) is simply not found.
      if (error instanceof PerstackError && error.code === "store.invalidId") return undefined
      throw error
    })
    if (!record) throw jobNotFound(jobId)
    return record
  }

  #view(record: ApiJobRecord) {
    return jobView(record, this.registry, this.scheduler)
  }

  async #start(request: IncomingMessage, response: ServerResponse, owner: string): Promise<void> {
    const body = await readJsonBody(request, startJobBodySchema, this.#maxBody)
    const { config } = this.#options
    if (!config.experts[body.expertKey]) {
      const known = Object.keys(config.experts).join(", ")
      throw new HttpError(
        400,
        "body.invalid",
        `"expertKey": no Expert "${body.expertKey}" (known: ${known})`,
        {
          field: "expertKey",
        },
      )
    }
    const record: ApiJobRecord = {
      version: 1,
      id: this.#ids(),
      owner,
      ...(body.applicationId ? { applicationId: body.applicationId } : {}),
      expertKey: body.expertKey,
      query: body.query,
      ...(body.provider ? { provider: body.provider } : {}),
      ...(body.model ? { model: body.model } : {}),
      createdAt: this.#clock(),
    }
    const settings = settingsFor(this.#context, record)
    try {
      checkProviderEnv(settings.provider, this.#options.env)
    } catch (error) {
      throw new HttpError(400, "body.invalid", `"provider": ${messageOf(error)}`, { field: "provider" })
    }
    const ticket = this.scheduler.admit()
    try {
      await this.registry.create(record)
    } catch (error) {
      ticket.release()
      throw error
    }
    ticket.submit(this.#task(record, { kind: "start" }))
    this.#log(`job ${record.id} accepted (${record.expertKey}, key=${owner})`)
    sendJson(
      response,
      202,
      { data: { job: await this.#view(record) } },
      { Location: `/api/v1/jobs/${record.id}` },
    )
  }

  async #list(response: ServerResponse, url: URL, owner: string): Promise<void> {
    const filter = readQuery(url, jobListQuerySchema)
    const records = (await this.registry.list(owner)).filter(
      (record) =>
        (filter.applicationId === undefined || record.applicationId === filter.applicationId) &&
        (filter.expertKey === undefined || record.expertKey === filter.expertKey),
    )
    const jobs = await Promise.all(records.reverse().map((record) => this.#view(record)))
    sendJson(response, 200, {
      data: { jobs: filter.status === undefined ? jobs : jobs.filter((job) => job.status === filter.status) },
    })
  }

  async #continue(request: IncomingMessage, response: ServerResponse, record: ApiJobRecord): Promise<void> {
    const body = await readJsonBody(request, continueJobBodySchema, this.#maxBody)
    if (this.scheduler.isActive(record.id)) {
      throw new HttpError(409, "job.busy", `job ${record.id} is running or queued; cancel it or wait for it`)
    }
    const job: JobRequest =
      "interactiveAnswer" in body
        ? {
            kind: "answer",
            answer: body.interactiveAnswer,
            ...(body.toolCallId ? { toolCallId: body.toolCallId } : {}),
          }
        : {
            kind: "continue",
            ...(body.query !== undefined && body.query !== "" ? { query: body.query } : {}),
          }
    await this.#checkContinuable(record, job)
    const ticket = this.scheduler.admit()
    const next: ApiJobRecord = { ...record }
    delete next.error
    delete next.cancelledAt
    try {
      await this.registry.update(next)
    } catch (error) {
      ticket.release()
      throw error
    }
    ticket.submit(this.#task(next, job))
    this.#log(`job ${record.id} continued (${job.kind})`)
    sendJson(response, 202, { data: { job: await this.#view(next) } })
  }

  /** The cheap checks of a continuation, so a wrong request is a 4xx now rather than a failed job later. */
  async #checkContinuable(record: ApiJobRecord, request: JobRequest): Promise<void> {
    const stored = await this.registry.store(record.id).readJob(record.id)
    const status = stored?.status
    if (request.kind === "answer" && status !== "stoppedByInteractiveTool") {
      throw new HttpError(
        409,
        "job.notWaiting",
        `job ${record.id} is not waiting for an answer (it is ${status ?? "not started"})`,
      )
    }
    if (request.kind === "continue" && status === "stoppedByInteractiveTool") {
      throw new HttpError(
        409,
        "job.waitingForAnswer",
        `job ${record.id} is waiting for an answer to an interactive tool: send { "interactiveAnswer": "..." }`,
      )
    }
    if (!stored || request.kind !== "continue") return
    // The orchestrator's own checks, reading only: what `perstack run --continue-job` would refuse is a 4xx here.
    const settings = settingsFor(this.#context, record)
    if (settings.maxSteps <= stored.totalSteps) {
      throw new HttpError(
        409,
        "job.noStepsLeft",
        `job ${record.id} has taken ${stored.totalSteps} of its ${settings.maxSteps} steps (the server's --max-steps): it cannot go on`,
      )
    }
    try {
      await planContinue({
        store: this.registry.store(record.id),
        job: stored,
        expertKey: record.expertKey,
        request: { jobId: record.id },
        query: request.query,
        ids: this.#ids,
      })
    } catch (error) {
      if (!(error instanceof PerstackError)) throw error
      if (error.code === "query.missing") {
        throw new HttpError(400, "body.invalid", `"query": ${error.message}`, { field: "query" })
      }
      throw new HttpError(409, error.code, error.message)
    }
  }

  async #cancel(response: ServerResponse, record: ApiJobRecord): Promise<void> {
    const outcome = this.scheduler.cancel(record.id)
    if (!outcome) throw new HttpError(409, "job.notRunning", `job ${record.id} is not running or queued`)
    if (outcome === "dequeued" && !(await this.registry.store(record.id).readJob(record.id))) {
      await this.registry.update({ ...record, cancelledAt: this.#clock() })
    }
    this.activity.notify(record.id)
    this.#log(`job ${record.id} cancel requested (${outcome})`)
    sendJson(response, 202, { data: { job: await this.#view(await this.#owned(record.id, record.owner)) } })
  }

  async #stream(request: IncomingMessage, response: ServerResponse, url: URL, record: ApiJobRecord) {
    const header = request.headers["last-event-id"]
    const after = parseEventId(
      (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("lastEventId") ?? undefined,
    )
    const store = this.registry.store(record.id)
    if (after) await checkPosition(store, record.id, after)
    const controller = new AbortController()
    this.#streams.add(controller)
    response.on("close", () => controller.abort())
    const sse = new SseWriter(response, { retryMs: 1000 })
    let lastId = after ? formatEventId(after) : ""
    try {
      for await (const item of followJob({
        store,
        jobId: record.id,
        ...(after ? { after } : {}),
        isLive: () => this.scheduler.isActive(record.id),
        waitForActivity: (ms, signal) => this.activity.wait(record.id, ms, signal),
        signal: controller.signal,
        ...this.#options.follow,
      })) {
        if (item.kind === "event") await sse.send({ id: item.id, event: "message", data: item.line })
        else
          await sse.send({
            id: item.id,
            event: "error",
            data: JSON.stringify({ code: "event.invalid", message: item.message }),
          })
        lastId = item.id
      }
      if (controller.signal.aborted) return
      const job = await this.#view(await this.#owned(record.id, record.owner))
      if (job.status === "stoppedByError") {
        const runs = await store.listRuns(record.id)
        const message =
          job.error?.message ??
          runs.findLast((run) => run.error)?.error?.message ??
          "the job stopped with an error"
        await sse.send({ id: lastId, event: "error", data: JSON.stringify({ code: "job.failed", message }) })
      }
      await sse.send({ id: lastId, event: "complete", data: JSON.stringify({ job }) })
    } catch (error) {
      if (!controller.signal.aborted) {
        this.#log(`stream of job ${record.id} failed: ${messageOf(error)}`)
        await sse.send({
          id: lastId,
          event: "error",
          data: JSON.stringify({ code: "stream.failed", message: messageOf(error) }),
        })
      }
    } finally {
      this.#streams.delete(controller)
      sse.end()
    }
  }

  #task(record: ApiJobRecord, request: JobRequest) {
    return {
      jobId: record.id,
      execute: async (signal: AbortSignal) => {
        this.#log(`job ${record.id} started (${request.kind})`)
        try {
          const result = await executeJob(this.#context, record, request, signal)
          this.#log(`job ${record.id} ${result.status} after ${result.job.totalSteps} steps`)
        } catch (error) {
          // Failed before the orchestrator recorded anything (or while it did): keep why, for the job's view.
          const code = error instanceof PerstackError ? error.code : "job.failed"
          await this.registry.update({ ...record, error: { code, message: messageOf(error) } })
          throw error
        } finally {
          this.activity.notify(record.id)
        }
      },
    }
  }

  get #maxBody(): number {
    return this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  })
  response.end(text)
}

const methodNotAllowed = (allow: string) =>
  new HttpError(405, "method.notAllowed", `use ${allow} here`, { headers: { Allow: allow } })

function asHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error
  return new HttpError(500, "server.error", "the server failed; see its log", { cause: error })
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The path without its query string: a query could carry something private. */
const pathOf = (request: IncomingMessage) => (request.url ?? "/").split("?")[0]
