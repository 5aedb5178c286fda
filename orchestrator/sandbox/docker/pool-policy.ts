// Which runs the docker warm pool serves, and how a run's environment splits into what a container started ahead of it
// has (the shape) and what it is handed when claimed (the run's own variables); the pool's bound, from the environment.
import type { SandboxStartOptions } from "../sandbox.ts"
import { warmPoolSize } from "../warm-pool-size.ts"
import type { RunPlan } from "./run-plan.ts"

/** PERSTACK_DOCKER_WARM_POOL: how many containers may wait ahead of their runs (default 4; 0: none). */
export const warmPoolSetting = (value = process.env.PERSTACK_DOCKER_WARM_POOL) =>
  warmPoolSize("PERSTACK_DOCKER_WARM_POOL", value)

/**
 * A run's environment split in two: what every run of its shape has (a warm container's exec starts with it), and
 * the run's own variables (its gateway token), which a warm container gets on stdin when claimed.
 */
export function splitEnv(
  plan: RunPlan,
  perRun: readonly string[],
): { shape: RunPlan; runEnv: Record<string, string> } {
  const entries = Object.entries(plan.env)
  return {
    shape: { ...plan, env: Object.fromEntries(entries.filter(([name]) => !perRun.includes(name))) },
    runEnv: Object.fromEntries(entries.filter(([name]) => perRun.includes(name))),
  }
}

/**
 * Whether a run of these options can be served by a container started ahead of it. Not when its environment holds a
 * value of its own that is not named as such (a run that did not say which), nor with a proxy token (an Expert with
 * allowed domains: the proxy's address, with the token in it, is in several variables, as on the local backend).
 */
export function poolable(
  start: Pick<SandboxStartOptions, "envIsPerRun" | "perRunEnv" | "services">,
): boolean {
  if (start.envIsPerRun && start.perRunEnv === undefined) return false
  return start.services?.proxyToken === undefined
}
