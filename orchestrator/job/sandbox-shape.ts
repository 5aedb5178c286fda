// What a sandbox of one Expert of the job is started with, but the run itself (its RunSpec, labels and gateway token):
// the same for every run of that Expert, so a sandbox started ahead of its run (a warm pool's) matches it.

import type { ExpertConfig } from "../../runtime/protocol/config/expert.ts"
import type { ProtectedPath } from "../sandbox/sandbox.ts"
import { protectedPaths } from "../trust/workspace-guard.ts"
import type { JobContext } from "./job-context.ts"
import { expertOf } from "./run-spec-factory.ts"
import { sandboxEnv } from "./sandbox-env.ts"

export interface SandboxShape {
  expert: ExpertConfig
  env: Record<string, string>
  /** the names in `env` whose values are the run's alone (they hold its gateway token) */
  perRunEnv: string[]
  protectedPaths: ProtectedPath[]
}

export async function sandboxShape(
  job: JobContext,
  expertKey: string,
  gatewayToken: string | undefined,
): Promise<SandboxShape> {
  const expert = expertOf(job.options.config, expertKey)
  const silenceMs = job.options.settings.silenceTimeoutMs
  const env: Record<string, string> = {
    ...sandboxEnv({
      expertKey,
      expert,
      provider: job.options.settings.provider,
      env: job.options.env,
      forwardEnv: job.options.settings.forwardEnv,
      ...(gatewayToken !== undefined ? { gatewayToken } : {}),
    }),
    // Four heartbeats in each silence bound: a sandbox that misses them all is stuck, not busy.
    PERSTACK_HEARTBEAT_MS: String(Math.max(100, Math.floor(silenceMs / 4))),
  }
  return {
    expert,
    env,
    perRunEnv:
      gatewayToken === undefined ? [] : Object.keys(env).filter((name) => env[name] === gatewayToken),
    // Checked at each start: a file that appeared meanwhile (the user's, or a sandbox's) is protected from then on.
    protectedPaths: await protectedPaths(job.options.workspace, job.job.inputs ?? []),
  }
}
