// How a local run is put under bubblewrap: what of the host it sees, and how its pid and exit are read back.
import { existsSync } from "node:fs"
import { realpath } from "node:fs/promises"
import { constants } from "node:os"
import path from "node:path"
import type { Readable } from "node:stream"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { packageRoot } from "../../package-root.ts"
import type { SandboxStartOptions } from "../sandbox.ts"
import { emptyFile } from "./empty-file.ts"

/** What the sandbox sees of the host: the folders the runtime loads from, read-only, and the workspace. */
export async function isolationPlan(
  start: Pick<SandboxStartOptions, "workspace" | "env" | "protectedPaths">,
  node: string,
  entry: string,
  compileCache: string | undefined,
) {
  const root = await realpath(packageRoot())
  const readOnly = new Set([root, path.dirname(await realpath(node))])
  if (compileCache) readOnly.add(compileCache)
  // A checkout whose node_modules links elsewhere (a git worktree sharing another's) loads from there.
  const modules = await realpath(path.join(root, "node_modules")).catch(() => undefined)
  if (modules && !modules.startsWith(`${root}${path.sep}`)) readOnly.add(modules)
  const entryDir = path.dirname(await realpath(entry))
  if (!isWithin(entryDir, root) && !isWithin(entryDir, start.workspace)) readOnly.add(entryDir)
  const store = path.join(start.workspace, "perstack")
  return {
    workspace: start.workspace,
    readOnly: [...readOnly],
    ...(start.env.HOME ? { home: start.env.HOME } : {}),
    protectedPaths: start.protectedPaths ?? [],
    emptyFile: await emptyFile(),
    ...(existsSync(store) ? { store } : {}),
    infoFd: 3,
  }
}

export function isOwnRuntime(entry: string): boolean {
  const root = packageRoot()
  return [
    path.join(root, "dist/runtime/perstack-runtime.js"),
    path.join(root, "runtime/cli/bin.ts"),
  ].includes(path.resolve(entry))
}

function isWithin(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir)
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))
}

/** The runtime's pid on this host, from bubblewrap's info fd; a sandbox that could not be set up is an error. */
export async function sandboxPid(
  info: Readable,
  exit: Promise<unknown>,
  stderr: () => string,
): Promise<number> {
  let text = ""
  info.setEncoding("utf8")
  const pid = await Promise.race([
    new Promise<number | undefined>((resolve) => {
      info.on("data", (chunk: string) => {
        text += chunk
        const match = /"child-pid"\s*:\s*(\d+)/.exec(text)
        if (match) resolve(Number(match[1]))
      })
      info.once("end", () => resolve(undefined))
    }),
    exit.then(() => undefined),
  ])
  if (pid === undefined) {
    await exit
    throw new PerstackError(
      "sandbox.startFailed",
      `bubblewrap could not set up the sandbox: ${stderr().trim() || "no reason given"}`,
    )
  }
  info.resume()
  return pid
}

/** bubblewrap exits 128 + N when its child died of signal N: report the signal, as a plain process would. */
export function propagatedStatus(exit: { code: number | null; signal: NodeJS.Signals | null }) {
  if (exit.code === null || exit.code <= 128) return exit
  const name = Object.entries(constants.signals).find(([, number]) => number === (exit.code ?? 0) - 128)?.[0]
  return name ? { code: null, signal: name as NodeJS.Signals } : exit
}
