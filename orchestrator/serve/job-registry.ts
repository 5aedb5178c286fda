// Which key owns which job, and where its workspace is: `<root>/api/jobs/<id>.json`, beside `<root>/workspaces/<id>/`.
// The job's own record and events live in its workspace's perstack/ store, as for the CLI; this file is the API's.
import { mkdir, readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { providerNameSchema } from "../../runtime/protocol/config/provider.ts"
import { writeJsonAtomic } from "../store/atomic-file.ts"
import { JobStore } from "../store/job-store.ts"
import { assertSafeId } from "../store/store-paths.ts"

export const apiJobRecordSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().min(1),
  /** the API key's name */
  owner: z.string().min(1),
  applicationId: z.string().min(1).optional(),
  expertKey: z.string().min(1),
  /** the first query, kept until the orchestrator has taken the job (so a queued job survives a restart) */
  query: z.string(),
  provider: providerNameSchema.optional(),
  model: z.string().optional(),
  createdAt: z.number().int(),
  /** cancelled while queued: it never reached the orchestrator */
  cancelledAt: z.number().int().optional(),
  /** why its last start failed before the orchestrator could record it (e.g. a missing provider key) */
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
})
export type ApiJobRecord = z.infer<typeof apiJobRecordSchema>

export class JobRegistry {
  readonly root: string
  readonly #records: string

  constructor(root: string) {
    this.root = path.resolve(root)
    this.#records = path.join(this.root, "api", "jobs")
  }

  workspace(jobId: string): string {
    return path.join(this.root, "workspaces", assertSafeId("job", jobId))
  }

  store(jobId: string): JobStore {
    return new JobStore(path.join(this.workspace(jobId), "perstack"))
  }

  async create(record: ApiJobRecord): Promise<void> {
    await mkdir(this.workspace(record.id), { recursive: true })
    await this.update(record)
  }

  async update(record: ApiJobRecord): Promise<void> {
    await writeJsonAtomic(this.#file(record.id), apiJobRecordSchema.parse(record))
  }

  /** The job's record if `owner` owns it; someone else's job reads as absent. */
  async read(jobId: string, owner?: string): Promise<ApiJobRecord | undefined> {
    let text: string
    try {
      text = await readFile(this.#file(jobId), "utf8")
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === "ENOENT") return undefined
      throw error
    }
    const record = apiJobRecordSchema.parse(JSON.parse(text))
    return owner === undefined || record.owner === owner ? record : undefined
  }

  /** Every record (of `owner`, if given), oldest first. */
  async list(owner?: string): Promise<ApiJobRecord[]> {
    const files = await readdir(this.#records).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [] as string[]
      throw error
    })
    const records = await Promise.all(
      files.filter((file) => file.endsWith(".json")).map((file) => this.read(file.slice(0, -5), owner)),
    )
    return records
      .filter((record): record is ApiJobRecord => record !== undefined)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  }

  #file(jobId: string): string {
    return path.join(this.#records, `${assertSafeId("job", jobId)}.json`)
  }
}
