// The files the host reads to decide what a job runs, their digests when it started, and what changed since.
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import path from "node:path"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Job, JobInput } from "../../runtime/protocol/job.ts"

/** A file the orchestrator reads (or would, if it existed) before starting a job. */
export interface InputFile {
  /** absolute */
  file: string
  role: JobInput["role"]
}

export interface InputChange {
  path: string
  role: JobInput["role"]
  change: "changed" | "appeared" | "removed"
}

export async function digestOf(file: string): Promise<string | null> {
  try {
    return `sha256:${createHash("sha256")
      .update(await readFile(file))
      .digest("hex")}`
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT" || code === "ENOTDIR") return null
    throw error
  }
}

/** How a job records a file: relative to the workspace when inside it (so a moved workspace still compares). */
export function inputPath(workspace: string, file: string): string {
  const relative = path.relative(workspace, file)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file
}

export async function snapshotInputs(workspace: string, files: readonly InputFile[]): Promise<JobInput[]> {
  const seen = new Set<string>()
  const unique = files.filter(({ file }) => !seen.has(file) && Boolean(seen.add(file)))
  return Promise.all(
    unique.map(async ({ file, role }) => ({
      path: inputPath(workspace, file),
      role,
      digest: await digestOf(file),
    })),
  )
}

/**
 * What differs between the inputs a job recorded and the same files now. A file read only now or only then (another
 * --config or --env-path, a library call given its config as text) is the caller's choice, not a change.
 */
export function compareInputs(recorded: readonly JobInput[], current: readonly JobInput[]): InputChange[] {
  const before = new Map(recorded.map((input) => [input.path, input]))
  const changes: InputChange[] = []
  for (const now of current) {
    const then = before.get(now.path)
    if (!then || then.digest === now.digest) continue
    changes.push({
      path: now.path,
      role: now.role,
      change: then.digest === null ? "appeared" : now.digest === null ? "removed" : "changed",
    })
  }
  return changes
}

export function describeChanges(changes: readonly InputChange[]): string {
  return changes.map((change) => `${change.path} ${change.change}`).join(", ")
}

/**
 * A continued job runs what it started with: when its config, lock or env files changed since (a sandbox may have
 * written them, or the user did), it is refused before anything is written, naming what changed.
 */
export function refuseChangedInputs(job: Job, current: readonly JobInput[]): void {
  // A job recorded before inputs were: nothing to compare with.
  if (!job.inputs) return
  const changes = compareInputs(job.inputs, current)
  if (changes.length === 0) return
  throw new PerstackError(
    "job.inputsChanged",
    `job ${job.id}: what it was started with has changed since: ${describeChanges(changes)}. Check ${changes.length === 1 ? "it" : "them"} (a sandbox can write the workspace), then continue with --accept-changed-inputs`,
  )
}
