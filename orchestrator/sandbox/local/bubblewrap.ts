// A local sandbox under bubblewrap: its own PID, IPC and UTS namespaces, the host's system folders read-only, the
// workspace read-write with the protected paths read-only or masked, a private /tmp and home, and every process of the
// sandbox killed when its runtime (PID 1 there) exits.
import { execFile } from "node:child_process"
import { lstat, readlink } from "node:fs/promises"
import path from "node:path"
import type { ProtectedPath } from "../sandbox.ts"

/** What a sandbox needs of the host, besides the workspace: read-only. */
const SYSTEM_DIRS = ["/usr", "/etc"] as const
/** On merged-/usr systems these are symlinks into /usr; elsewhere folders of their own. */
const SYSTEM_LINKS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] as const

export interface BubblewrapPlan {
  workspace: string
  /** folders the runtime is loaded from (the package, the Node binary's folder): read-only */
  readOnly: readonly string[]
  /** the sandbox's home (HOME): an empty tmpfs at that path */
  home?: string
  protectedPaths: readonly ProtectedPath[]
  /** an empty file of the orchestrator's (see emptyFile), bound over each masked path */
  emptyFile: string
  /** the job store, when it lies in the workspace: an empty read-only folder in its place */
  store?: string
  /** where bubblewrap writes `{"child-pid": N}`: the runtime's pid on the host, the one to signal */
  infoFd: number
  /** network = "gateway": a network namespace of its own (loopback only), and this folder of relay sockets */
  relayDir?: { host: string; sandbox: string }
}

/** The host's system links and folders, as bubblewrap arguments (a symlink is recreated, a folder bound). */
async function systemArgs(): Promise<string[]> {
  const args: string[] = []
  for (const dir of SYSTEM_DIRS) args.push("--ro-bind", dir, dir)
  for (const link of SYSTEM_LINKS) {
    const info = await lstat(link).catch(() => undefined)
    if (info?.isSymbolicLink()) args.push("--symlink", await readlink(link), link)
    else if (info?.isDirectory()) args.push("--ro-bind", link, link)
  }
  return args
}

export async function bubblewrapArgs(plan: BubblewrapPlan): Promise<string[]> {
  const args = [
    "--die-with-parent",
    "--unshare-pid",
    // The runtime is PID 1: when it exits, the kernel kills whatever its tools left running.
    "--as-pid-1",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(plan.relayDir ? ["--unshare-net"] : []),
    "--cap-drop",
    "ALL",
    "--info-fd",
    String(plan.infoFd),
    ...(await systemArgs()),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
  ]
  if (plan.home && plan.home !== "/") args.push("--tmpfs", plan.home)
  for (const dir of plan.readOnly) args.push("--ro-bind", dir, dir)
  args.push("--bind", plan.workspace, plan.workspace)
  for (const entry of plan.protectedPaths) {
    if (!entry.exists) continue
    const target = path.join(plan.workspace, entry.path)
    // A masked file: an empty, read-only file in its place.
    args.push("--ro-bind", entry.mode === "mask" ? plan.emptyFile : target, target)
  }
  if (plan.store) args.push("--tmpfs", plan.store, "--remount-ro", plan.store)
  if (plan.relayDir) args.push("--ro-bind", plan.relayDir.host, plan.relayDir.sandbox)
  args.push("--chdir", plan.workspace, "--")
  return args
}

export type BubblewrapStatus = { available: true; command: string } | { available: false; reason: string }

let probed: Promise<BubblewrapStatus> | undefined

/**
 * Whether bubblewrap can make a sandbox on this machine (it may be missing, or the kernel may refuse it namespaces:
 * inside most containers, or where unprivileged user namespaces are switched off). Probed once per process.
 */
export function bubblewrapStatus(command = process.env.PERSTACK_BWRAP ?? "bwrap"): Promise<BubblewrapStatus> {
  probed ??= new Promise((resolve) => {
    const probe = ["--die-with-parent", "--unshare-pid", "--as-pid-1", "--ro-bind", "/", "/"]
    execFile(
      command,
      [...probe, "--proc", "/proc", "--dev", "/dev", "true"],
      { timeout: 10_000 },
      (error, _out, err) => {
        if (!error) resolve({ available: true, command })
        else if ((error as NodeJS.ErrnoException).code === "ENOENT")
          resolve({ available: false, reason: `${command} is not installed` })
        else
          resolve({
            available: false,
            reason: `${command} cannot create namespaces here: ${String(err).trim() || error.message}`,
          })
      },
    )
  })
  return probed
}
