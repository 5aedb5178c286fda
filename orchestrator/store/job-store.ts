// The job store: job.json, runs/<id>/run.json, runs/<id>/events.ndjson, checkpoints/<id>.json. Read back by parsing.
import { createReadStream } from "node:fs"
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import type { z } from "zod"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import {
  type Checkpoint,
  type CheckpointRecord,
  checkpointRecordSchema,
  checkpointSchema,
} from "../../runtime/protocol/checkpoint.ts"
import { type PerstackEvent, perstackEventSchema } from "../../runtime/protocol/events/index.ts"
import { HistoryIndex } from "../../runtime/protocol/history-index.ts"
import { type Job, jobSchema } from "../../runtime/protocol/job.ts"
import { type Run, runSchema } from "../../runtime/protocol/run.ts"
import { frameLines } from "../ndjson/line-framer.ts"
import { writeJsonAtomic } from "./atomic-file.ts"
import {
  type CheckpointState,
  resolveCheckpoint,
  type StoredCheckpoint,
  stateOf,
} from "./checkpoint-chain.ts"
import { EventLogWriter } from "./event-log-writer.ts"
import { acquireJobLock, type JobLock } from "./job-lock.ts"
import { RESERVE_BYTES } from "./store-errors.ts"
import { storePaths } from "./store-paths.ts"

/** `schema` may pick the schema by the JSON it reads (a checkpoint file holds a v2 record or a v1 checkpoint). */
async function readRecord<S extends z.ZodType>(
  file: string,
  schema: S | ((json: unknown) => S),
): Promise<z.infer<S> | undefined> {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new PerstackError("store.corrupt", `${file}: not JSON: ${(error as Error).message}`)
  }
  const result = (typeof schema === "function" ? schema(json) : schema).safeParse(json)
  if (!result.success) {
    const first = result.error.issues[0]
    throw new PerstackError(
      "store.corrupt",
      `${file}: ${first?.path.join(".") || "(root)"}: ${first?.message}`,
    )
  }
  return result.data
}

async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await open(file, "r")
  try {
    const { size } = await handle.stat()
    const last = Buffer.alloc(1)
    await handle.read(last, 0, 1, Math.max(0, size - 1))
    return size > 0 && last[0] === 0x0a
  } finally {
    await handle.close()
  }
}

const listDir = (dir: string) =>
  readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[]
    throw error
  })

export class JobStore {
  readonly paths: ReturnType<typeof storePaths>

  private readonly onWarning: ((message: string) => void) | undefined

  /** `root` is the store folder, usually `<workspace>/perstack`; `onWarning` hears of repairs (a torn last line). */
  constructor(root: string, onWarning?: (message: string) => void) {
    this.paths = storePaths(root)
    this.onWarning = onWarning
  }

  /**
   * Keeps RESERVE_BYTES of the disk for the end of a job: a full disk stops the job, and releasing the reserve is
   * what lets its final status and run records still be written.
   */
  async ensureReserve(): Promise<void> {
    const file = path.join(this.paths.root, ".reserve")
    if ((await stat(file).catch(() => undefined))?.size === RESERVE_BYTES) return
    await mkdir(this.paths.root, { recursive: true })
    await writeFile(file, Buffer.alloc(RESERVE_BYTES)).catch(() => rm(file, { force: true }))
  }

  async releaseReserve(): Promise<void> {
    await rm(path.join(this.paths.root, ".reserve"), { force: true })
  }

  lock(jobId: string): Promise<JobLock> {
    return acquireJobLock(this.paths.lockFile(jobId), jobId)
  }

  async writeJob(job: Job): Promise<void> {
    return writeJsonAtomic(this.paths.jobFile(job.id), jobSchema.parse(job))
  }

  async writeRun(run: Run): Promise<void> {
    return writeJsonAtomic(this.paths.runFile(run.jobId, run.id), runSchema.parse(run))
  }

  /** A checkpoint as protocol 2 stores it: its record, the history it continues named, not repeated. */
  async writeCheckpoint(checkpoint: CheckpointRecord): Promise<void> {
    return writeJsonAtomic(this.paths.checkpointFile(checkpoint.jobId, checkpoint.id), checkpoint)
  }

  eventLog(jobId: string, runId: string): EventLogWriter {
    return new EventLogWriter(this.paths.eventsFile(jobId, runId), this.onWarning)
  }

  async readJob(jobId: string): Promise<Job | undefined> {
    return readRecord(this.paths.jobFile(jobId), jobSchema)
  }

  async readRun(jobId: string, runId: string): Promise<Run | undefined> {
    return readRecord(this.paths.runFile(jobId, runId), runSchema)
  }

  /** The checkpoint whole: its conversation put together from the checkpoints it continues. */
  async readCheckpoint(jobId: string, checkpointId: string): Promise<Checkpoint | undefined> {
    return this.#resolve(jobId, checkpointId, new HistoryIndex())
  }

  /** The checkpoint's fields without its conversation, from its own file alone. */
  async readCheckpointState(jobId: string, checkpointId: string): Promise<CheckpointState | undefined> {
    const stored = await this.readCheckpointFile(jobId, checkpointId)
    return stored && stateOf(stored)
  }

  /** The checkpoint's file as it is: a v2 record, or a v1 checkpoint. */
  async readCheckpointFile(jobId: string, checkpointId: string): Promise<StoredCheckpoint | undefined> {
    return readRecord(this.paths.checkpointFile(jobId, checkpointId), (json) =>
      typeof json === "object" && json !== null && "history" in json
        ? checkpointRecordSchema
        : checkpointSchema,
    )
  }

  #resolve(jobId: string, checkpointId: string, index: HistoryIndex): Promise<Checkpoint | undefined> {
    return resolveCheckpoint({
      id: checkpointId,
      index,
      load: (id) => this.readCheckpointFile(jobId, id),
      fileOf: (id) => this.paths.checkpointFile(jobId, id),
    })
  }

  /** Newest first. */
  /** The job that holds this checkpoint, newest job first; undefined when none does. */
  async jobOfCheckpoint(checkpointId: string): Promise<Job | undefined> {
    for (const job of await this.listJobs()) {
      if (await this.readCheckpointFile(job.id, checkpointId)) return job
    }
    return undefined
  }

  async listJobs(): Promise<Job[]> {
    const ids = await listDir(this.paths.jobs)
    const jobs = await Promise.all(ids.map((id) => this.readJob(id).catch(() => undefined)))
    return jobs.filter((job): job is Job => job !== undefined).sort((a, b) => b.startedAt - a.startedAt)
  }

  /** In start order. */
  async listRuns(jobId: string): Promise<Run[]> {
    const ids = await listDir(this.paths.runs(jobId))
    const runs = await Promise.all(ids.map((id) => this.readRun(jobId, id)))
    return runs
      .filter((run): run is Run => run !== undefined)
      .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
  }

  /** In step order, each whole (one index for all: a conversation shared by many is put together once). */
  async listCheckpoints(jobId: string): Promise<Checkpoint[]> {
    const files = (await listDir(this.paths.checkpoints(jobId))).filter((file) => file.endsWith(".json"))
    const index = new HistoryIndex()
    const checkpoints: (Checkpoint | undefined)[] = []
    for (const file of files)
      checkpoints.push(await this.#resolve(jobId, file.slice(0, -".json".length), index))
    return checkpoints
      .filter((checkpoint): checkpoint is Checkpoint => checkpoint !== undefined)
      .sort((a, b) => a.stepNumber - b.stepNumber)
  }

  /**
   * Streams a run's events line by line (memory flat however long the log), framed on bytes like the intake.
   * A line that is not a valid event stops the reading with its file and line number: the store was tampered with.
   */
  async *readEvents(jobId: string, runId: string): AsyncGenerator<PerstackEvent> {
    const file = this.paths.eventsFile(jobId, runId)
    const stream = createReadStream(file)
    const decoder = new TextDecoder()
    // A line that is not JSON is reported only once the next one shows it was not the last: a torn last line
    // (power loss mid-write) is skipped with a warning, never a crash.
    let torn: PerstackError | undefined
    try {
      for await (const line of frameLines(stream)) {
        if (torn) throw torn
        const where = `${file}:${line.lineNumber}`
        if (line.truncated) {
          throw new PerstackError(
            "store.corrupt",
            `${where}: a line of ${line.byteLength} bytes, over the cap`,
          )
        }
        let json: unknown
        try {
          json = JSON.parse(decoder.decode(line.bytes))
        } catch (error) {
          torn = new PerstackError("store.corrupt", `${where}: not JSON: ${(error as Error).message}`)
          continue
        }
        const result = perstackEventSchema.safeParse(json)
        if (!result.success) {
          throw new PerstackError(
            "store.corrupt",
            `${where}: not a valid event: ${result.error.issues[0]?.message}`,
          )
        }
        yield result.data
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return
      throw error
    } finally {
      stream.destroy()
    }
    if (!torn) return
    // Torn only if the file does not end with a newline; a complete line that is not JSON is corruption.
    if (await endsWithNewline(file)) throw torn
    this.onWarning?.(`${file}: skipped a torn last line left by a crash`)
  }
}
