// What a run's container is made of before it has a name: the RunSpec as the container reads it, and the
// container's image, user, environment, mounts, limits and network.
import { existsSync } from "node:fs"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"
import { type ResourceLimits, resolveLimits } from "../container/resource-limits.ts"
import type { SandboxStartOptions } from "../sandbox.ts"
import { type ContainerPlan, IN_CONTAINER } from "./container-config.ts"
import type { HostPaths } from "./host-paths.ts"
import { type JobEgress, lockedDownEnv, throughRelay } from "./job-egress.ts"
import { containerLlmBaseUrl } from "./llm-endpoint.ts"
import { sandboxUser } from "./sandbox-user.ts"

/** A container plan without what only a cold start gives it (its name, RunSpec folder and per-run labels). */
export type RunPlan = Omit<ContainerPlan, "name" | "hostSpecDir" | "labels">

export interface RunPlanContext {
  image: string
  paths: HostPaths
  /** the job's locked-down network, when the run goes through it */
  locked: JobEgress | undefined
  /** "uid:gid", else the workspace's owner */
  userOverride: string | undefined
  defaults: ResourceLimits
}

/** The RunSpec with the container's workspace, and the LLM reached the way this container can. */
export function containerRunSpec(
  { spec, env }: Pick<SandboxStartOptions, "spec" | "env">,
  locked: JobEgress | undefined,
): RunSpec {
  const llmBaseUrl = locked
    ? spec.llmBaseUrl && throughRelay(spec.llmBaseUrl, locked)
    : containerLlmBaseUrl(spec, env)
  return { ...spec, workspace: IN_CONTAINER.workspace, ...(llmBaseUrl ? { llmBaseUrl } : {}) }
}

export async function planRun(
  start: Pick<
    SandboxStartOptions,
    "env" | "workspace" | "labels" | "settings" | "services" | "protectedPaths"
  >,
  context: RunPlanContext,
): Promise<RunPlan> {
  const { env, workspace, labels, settings, services, protectedPaths } = start
  const { paths, locked } = context
  const hostCa = env.NODE_EXTRA_CA_CERTS
  return {
    image: context.image,
    user: await sandboxUser(workspace, context.userOverride),
    env: {
      ...(locked && services ? lockedDownEnv(env, services, locked) : env),
      PERSTACK_JOB_ID: labels.jobId,
    },
    hostWorkspace: paths.toHost(workspace),
    ...(hostCa && existsSync(hostCa) ? { hostCaBundle: paths.toHost(hostCa) } : {}),
    limits: resolveLimits(settings, context.defaults),
    network: locked ? locked.network : "bridge",
    ...(protectedPaths ? { protectedPaths } : {}),
  }
}
