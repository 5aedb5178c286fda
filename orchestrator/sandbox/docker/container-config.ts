// What one sandbox container is: its command, environment, mounts, labels and hardening, as Docker's create options.
import path from "node:path"
import type Docker from "dockerode"
import type { ResourceLimits } from "../container/resource-limits.ts"
import { runtimeCommand } from "../container/sandbox-image.ts"
import type { ProtectedPath } from "../sandbox.ts"
import { HOST_ALIAS } from "./llm-endpoint.ts"

/** Where things are inside the container. */
export const IN_CONTAINER = {
  workspace: "/workspace",
  /** the RunSpec's folder, mounted read-only */
  specDir: "/run/perstack",
  specFile: "/run/perstack/run-spec.json",
  caBundle: "/run/perstack-ca/ca.pem",
  home: "/home/perstack",
  path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
} as const

/** Docker's default bridge (network = "open"), no network at all, or the name of a job's locked-down network. */
export type ContainerNetwork = "bridge" | "none" | (string & {})

export interface ContainerPlan {
  image: string
  name: string
  /** "uid:gid" */
  user: string
  /** the sandbox's environment as the orchestrator chose it (host-specific paths are replaced here) */
  env: Readonly<Record<string, string>>
  /** the command; default: the runtime on the mounted RunSpec */
  cmd?: readonly string[]
  labels: Readonly<Record<string, string>>
  /** host paths (already translated when the orchestrator runs in a container) */
  hostWorkspace: string
  /** the RunSpec's folder, mounted read-only; without it, the RunSpec comes on stdin (the warm pool) */
  hostSpecDir?: string
  /** a CA bundle on the host to trust inside (NODE_EXTRA_CA_CERTS), for networks that intercept TLS */
  hostCaBundle?: string
  limits: ResourceLimits
  network: ContainerNetwork
  /** workspace files mounted read-only, or masked with /dev/null, over the workspace (see SandboxStartOptions) */
  protectedPaths?: readonly ProtectedPath[]
}

/** The host's PATH, HOME and TMPDIR mean nothing inside; a CA bundle is trusted only if mounted. */
export function containerEnv(plan: Pick<ContainerPlan, "env" | "hostCaBundle">): string[] {
  const { NODE_EXTRA_CA_CERTS: _hostCa, ...rest } = plan.env
  const env: Record<string, string> = {
    ...rest,
    PATH: IN_CONTAINER.path,
    HOME: IN_CONTAINER.home,
    TMPDIR: "/tmp",
    // The orchestrator acknowledges each stored tool call on stdin; stdin closing means it is gone.
    PERSTACK_ACK: "stdin",
    // The marker every sandbox carries (the seeds' images set it): code inside can tell where it runs.
    PERSTACK_SANDBOX: "1",
    ...(plan.hostCaBundle ? { NODE_EXTRA_CA_CERTS: IN_CONTAINER.caBundle } : {}),
  }
  return Object.entries(env).map(([key, value]) => `${key}=${value}`)
}

export function containerCreateOptions(plan: ContainerPlan): Docker.ContainerCreateOptions {
  const [uid, gid] = plan.user.split(":")
  const tmpfs = "rw,nosuid,nodev"
  return {
    name: plan.name,
    Image: plan.image,
    Cmd: [...(plan.cmd ?? runtimeCommand(IN_CONTAINER.specFile))],
    // The image's entrypoint, if any, must not wrap our command.
    Entrypoint: [],
    Env: containerEnv(plan),
    User: plan.user,
    WorkingDir: IN_CONTAINER.workspace,
    Labels: { ...plan.labels },
    // Non-TTY: a TTY merges stderr into stdout and turns "\n" into "\r\n".
    Tty: false,
    // stdin carries the acknowledgements, and closes for good when the orchestrator's attach goes away.
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      // A real PID 1: forwards SIGTERM to the runtime and reaps what its tools leave behind.
      Init: true,
      ReadonlyRootfs: true,
      Tmpfs: {
        "/tmp": `${tmpfs},size=1g`,
        [IN_CONTAINER.home]: `${tmpfs},size=256m,uid=${uid},gid=${gid},mode=0700`,
        // The job store is the orchestrator's alone: the sandbox sees an empty, read-only folder there.
        [`${IN_CONTAINER.workspace}/perstack`]: "ro,nosuid,nodev,noexec,size=4k",
      },
      Mounts: [
        { Type: "bind", Source: plan.hostWorkspace, Target: IN_CONTAINER.workspace, ReadOnly: false },
        // What the host reads to decide what runs: read-only, and env files (keys) masked, as Docker masks paths.
        ...(plan.protectedPaths ?? [])
          .filter((entry) => entry.exists)
          .map((entry) => ({
            Type: "bind" as const,
            Source: entry.mode === "mask" ? "/dev/null" : path.posix.join(plan.hostWorkspace, entry.path),
            Target: path.posix.join(IN_CONTAINER.workspace, entry.path),
            ReadOnly: true,
          })),
        ...(plan.hostSpecDir
          ? [
              {
                Type: "bind" as const,
                Source: plan.hostSpecDir,
                Target: IN_CONTAINER.specDir,
                ReadOnly: true,
              },
            ]
          : []),
        ...(plan.hostCaBundle
          ? [
              {
                Type: "bind" as const,
                Source: plan.hostCaBundle,
                Target: IN_CONTAINER.caBundle,
                ReadOnly: true,
              },
            ]
          : []),
      ],
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: plan.limits.pids,
      Memory: plan.limits.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: plan.limits.memoryBytes,
      NanoCpus: Math.round(plan.limits.cpus * 1e9),
      NetworkMode: plan.network,
      // The host's loopback services (a local LLM server) as host.docker.internal, on the open network only: a
      // locked-down one cannot reach the host (its relay can), and "none" reaches nothing.
      ...(plan.network === "bridge" ? { ExtraHosts: [`${HOST_ALIAS}:host-gateway`] } : {}),
      // The events travel over the attach stream; a log driver would only copy them to disk (and slow them down).
      LogConfig: { Type: "none", Config: {} },
      AutoRemove: false,
    },
  }
}
