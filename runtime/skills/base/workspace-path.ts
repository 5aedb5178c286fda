// Resolves a path the model gave into a real path inside the workspace, refusing escapes and the reserved perstack/ folder.
import { lstat, realpath } from "node:fs/promises"
import { homedir } from "node:os"
import path from "node:path"
import { PerstackError } from "../../errors/perstack-error.ts"

/** `<workspace>/perstack` (any case) holds the run's own state: tools never touch it. */
const RESERVED_DIR = "perstack"

export type WorkspacePath = {
  /** the path as the model gave it */
  given: string
  /** absolute, symlinks resolved (all of them, or all but the last component: see `followFinalSymlink`) */
  absolute: string
  /** relative to the workspace, "." for the workspace itself */
  relative: string
  /** whether something exists there now */
  exists: boolean
}

export type ResolveOptions = {
  /** refuse with `workspace.notFound` when nothing is there (default true) */
  mustExist?: boolean
  /**
   * false: resolve only the parent, so the last component may be a symlink that is itself deleted or moved
   * rather than its target (default true)
   */
  followFinalSymlink?: boolean
}

/** Per workspace (its real path): the absolute paths the orchestrator masks in this sandbox (RunSpec.maskedPaths). */
const masked = new Map<string, Set<string>>()

/** Tools refuse these paths from now on, saying why; the sandbox itself shows them empty (or not at all). */
export function maskWorkspacePaths(workspace: string, relative: readonly string[]): void {
  masked.set(workspace, new Set(relative.map((entry) => path.resolve(workspace, entry))))
}

function refuseMasked(workspace: string, candidate: string, given: string): void {
  if (masked.get(workspace)?.has(candidate)) {
    throw new PerstackError(
      "workspace.masked",
      `Path "${given}" is masked in this sandbox: it holds settings and keys the orchestrator reads, and its contents are kept from Experts (it reads as empty). Use the environment variables your skills are given instead.`,
    )
  }
}

export async function resolveWorkspacePath(
  workspace: string,
  given: string,
  options: ResolveOptions = {},
): Promise<WorkspacePath> {
  const { mustExist = true, followFinalSymlink = true } = options
  if (given.trim() === "") throw new PerstackError("workspace.invalidPath", "The path is empty.")
  const lexical = path.resolve(workspace, expandHome(given))
  refuseReserved(workspace, lexical, given)
  const resolved = followFinalSymlink
    ? await realpathNearest(lexical, given)
    : await resolveParent(lexical, given)
  if (!isInside(workspace, resolved.absolute)) {
    const via =
      resolved.absolute === lexical ? "" : ` (it resolves through a symbolic link to "${resolved.absolute}")`
    throw new PerstackError(
      "workspace.outside",
      `Path "${given}" is outside the workspace "${workspace}"${via}. Only paths inside the workspace can be used.`,
    )
  }
  refuseReserved(workspace, resolved.absolute, given)
  refuseMasked(workspace, lexical, given)
  refuseMasked(workspace, resolved.absolute, given)
  if (mustExist && !resolved.exists) {
    throw new PerstackError("workspace.notFound", `Path "${given}" does not exist in the workspace.`)
  }
  return { given, ...resolved, relative: path.relative(workspace, resolved.absolute) || "." }
}

export function isInside(workspace: string, candidate: string): boolean {
  const relative = path.relative(workspace, candidate)
  return (
    relative === "" ||
    !(relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative))
  )
}

/** whether `candidate` is the reserved folder or under it; `candidate` must be absolute */
export function isReserved(workspace: string, candidate: string): boolean {
  if (!isInside(workspace, candidate)) return false
  const first = path.relative(workspace, candidate).split(path.sep)[0] ?? ""
  return first.toLowerCase() === RESERVED_DIR
}

function refuseReserved(workspace: string, candidate: string, given: string): void {
  if (isReserved(workspace, candidate)) {
    throw new PerstackError(
      "workspace.reserved",
      `Path "${given}" is in the reserved "${RESERVED_DIR}" folder of the workspace, which holds the run's own state and cannot be used by tools.`,
    )
  }
}

function expandHome(given: string): string {
  if (given === "~") return homedir()
  if (given.startsWith("~/")) return path.join(homedir(), given.slice(2))
  return given
}

/** realpath of the path, or of its nearest existing ancestor with the missing rest appended */
async function realpathNearest(
  lexical: string,
  given: string,
): Promise<{ absolute: string; exists: boolean }> {
  const missing: string[] = []
  let current = lexical
  for (;;) {
    try {
      const real = await realpath(current)
      return { absolute: path.join(real, ...missing.reverse()), exists: missing.length === 0 }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error
    }
    // A dangling symlink cannot be resolved, and writing through it would create its target wherever it points.
    const stats = await lstat(current).catch(() => undefined)
    if (stats?.isSymbolicLink()) {
      throw new PerstackError(
        "workspace.brokenSymlink",
        `Path "${given}" goes through the symbolic link "${current}", whose target does not exist.`,
      )
    }
    const parent = path.dirname(current)
    if (parent === current) throw new PerstackError("workspace.notFound", `Path "${given}" does not exist.`)
    missing.push(path.basename(current))
    current = parent
  }
}

async function resolveParent(lexical: string, given: string): Promise<{ absolute: string; exists: boolean }> {
  const parent = await realpathNearest(path.dirname(lexical), given)
  const absolute = path.join(parent.absolute, path.basename(lexical))
  const exists =
    parent.exists &&
    (await lstat(absolute).then(
      () => true,
      () => false,
    ))
  return { absolute, exists }
}
