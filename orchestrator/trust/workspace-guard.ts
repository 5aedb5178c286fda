// Keeps what sandboxes write from becoming the host's input: which workspace files are protected, and what happens to
// such a file that appears while a job's sandboxes can write the workspace (it is moved aside, never read).
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { type JobInput, jobInputSchema } from "../../runtime/protocol/job.ts"
import type { ProtectedPath } from "../sandbox/sandbox.ts"
import { writeJsonAtomic } from "../store/atomic-file.ts"
import { digestOf } from "./job-inputs.ts"

/** The names the CLI looks for in a workspace: protected even when this job read others (`--config`, `--env-path`). */
const CONVENTIONAL: readonly { name: string; role: JobInput["role"] }[] = [
  { name: "perstack.toml", role: "config" },
  { name: "perstack.lock", role: "lock" },
  { name: ".env", role: "env" },
  { name: ".env.local", role: "env" },
]

/**
 * The workspace files no sandbox may change: the job's inputs inside the workspace and the conventional names. Env
 * files are masked (they hold keys: a sandbox sees an empty file), the config and the lock are read-only.
 */
export async function protectedPaths(
  workspace: string,
  inputs: readonly JobInput[],
): Promise<ProtectedPath[]> {
  const byPath = new Map<string, JobInput["role"]>()
  for (const { name, role } of CONVENTIONAL) byPath.set(name, role)
  for (const input of inputs) {
    if (!path.isAbsolute(input.path)) byPath.set(input.path, input.role)
  }
  return Promise.all(
    [...byPath].map(async ([relative, role]) => ({
      path: relative,
      mode: role === "env" ? ("mask" as const) : ("readOnly" as const),
      exists: (await digestOf(path.join(workspace, relative))) !== null,
    })),
  )
}

const markerSchema = z.strictObject({
  jobId: z.string(),
  startedAt: z.number(),
  /** every protected path as it was when the job's sandboxes could first write */
  files: z.array(jobInputSchema),
})
type Marker = z.infer<typeof markerSchema>

export interface GuardOutcome {
  /** what was moved aside, and where to */
  quarantined: { path: string; to: string }[]
  /** protected files that existed and changed meanwhile (by the user, or by a sandbox that is not isolated) */
  changed: string[]
}

async function snapshotProtected(workspace: string, inputs: readonly JobInput[]): Promise<JobInput[]> {
  const paths = await protectedPaths(workspace, inputs)
  const roles = new Map(inputs.map((input) => [input.path, input.role]))
  return Promise.all(
    paths.map(async (entry) => ({
      path: entry.path,
      role:
        roles.get(entry.path) ??
        CONVENTIONAL.find((conventional) => conventional.name === entry.path)?.role ??
        "config",
      digest: await digestOf(path.join(workspace, entry.path)),
    })),
  )
}

/** Moves aside what appeared since `before`, and names what changed. */
async function settle(workspace: string, marker: Marker): Promise<GuardOutcome> {
  const outcome: GuardOutcome = { quarantined: [], changed: [] }
  for (const then of marker.files) {
    const file = path.join(workspace, then.path)
    const now = await digestOf(file)
    if (now === then.digest) continue
    if (then.digest === null && now !== null) {
      const to = `${then.path}.untrusted-${marker.jobId}`
      await rename(file, path.join(workspace, to))
      outcome.quarantined.push({ path: then.path, to })
    } else if (now !== null) {
      outcome.changed.push(then.path)
    }
  }
  return outcome
}

/**
 * One job's watch over its workspace: opened before its first sandbox starts, closed once the last has ended. A marker
 * in the store (which no sandbox can reach) says the watch is open, so that after an orchestrator died mid-job the
 * next command in the workspace still settles what its sandboxes left.
 */
export class WorkspaceGuard {
  private readonly marker: Marker
  private readonly file: string
  private readonly workspace: string

  private constructor(workspace: string, file: string, marker: Marker) {
    this.workspace = workspace
    this.file = file
    this.marker = marker
  }

  static async open(options: {
    workspace: string
    storeRoot: string
    jobId: string
    inputs: readonly JobInput[]
    now: number
  }): Promise<WorkspaceGuard> {
    const marker: Marker = {
      jobId: options.jobId,
      startedAt: options.now,
      files: await snapshotProtected(options.workspace, options.inputs),
    }
    const file = markerFile(options.storeRoot, options.jobId)
    await mkdir(path.dirname(file), { recursive: true })
    await writeJsonAtomic(file, marker)
    return new WorkspaceGuard(options.workspace, file, marker)
  }

  async close(): Promise<GuardOutcome> {
    const outcome = await settle(this.workspace, this.marker)
    await rm(this.file, { force: true })
    return outcome
  }
}

function markerFile(storeRoot: string, jobId: string): string {
  return path.join(storeRoot, "inflight", `${jobId}.json`)
}

/**
 * Settles the watches of jobs whose orchestrator died with sandboxes able to write the workspace. `claim` takes a
 * job's lock (throwing while its orchestrator lives) and returns its release, so a running job's watch is left alone.
 */
export async function settleAbandoned(options: {
  workspace: string
  storeRoot: string
  claim: (jobId: string) => Promise<() => Promise<void>>
}): Promise<(GuardOutcome & { jobId: string })[]> {
  const dir = path.join(options.storeRoot, "inflight")
  const names = await readdir(dir).catch(() => [] as string[])
  const settled: (GuardOutcome & { jobId: string })[] = []
  for (const name of names.filter((entry) => entry.endsWith(".json"))) {
    const file = path.join(dir, name)
    const parsed = markerSchema.safeParse(
      await readFile(file, "utf8")
        .then((text) => JSON.parse(text) as unknown)
        .catch(() => undefined),
    )
    if (!parsed.success) {
      await rm(file, { force: true })
      continue
    }
    const release = await options.claim(parsed.data.jobId).catch(() => undefined)
    if (!release) continue
    try {
      settled.push({ jobId: parsed.data.jobId, ...(await settle(options.workspace, parsed.data)) })
      await rm(file, { force: true })
    } finally {
      await release()
    }
  }
  return settled
}

export function describeOutcome(jobId: string, outcome: GuardOutcome, isolated: boolean): string[] {
  const lines = outcome.quarantined.map(
    ({ path: file, to }) =>
      `${file} appeared while job ${jobId}'s sandboxes could write the workspace: it was moved to ${to} and not read (if you wrote it yourself, move it back)`,
  )
  if (!isolated && outcome.changed.length > 0) {
    lines.push(
      `${outcome.changed.join(", ")} changed while job ${jobId} ran, and its sandboxes were not isolated: one of them may have written ${outcome.changed.length === 1 ? "it" : "them"}; review before the next run`,
    )
  }
  return lines
}
