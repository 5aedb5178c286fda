// Starts a segment's sandbox in the shape of its Expert, with the run's labels and the gateway's services; a
// sandbox that cannot start (a missing image, no engine) is the run's error, which its parent hears of.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { WrittenRunError } from "../../runtime/protocol/checkpoint.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import type { Sandbox, SandboxServices } from "../sandbox/sandbox.ts"
import type { JobContext } from "./job-context.ts"
import { prewarmsQueued } from "./prewarm.ts"
import type { RunGuard } from "./run-guard.ts"
import { sandboxShape } from "./sandbox-shape.ts"

export interface SegmentAccess {
  /** the run's own gateway token, when the job runs through the gateway */
  gatewayToken: string | undefined
  services: SandboxServices | undefined
}

export type StartedSandbox = { sandbox: Sandbox } | { failed: WrittenRunError }

export async function startSegmentSandbox(
  job: JobContext,
  spec: RunSpec,
  links: { parentRunId?: string },
  { gatewayToken, services }: SegmentAccess,
  guard: RunGuard,
): Promise<StartedSandbox> {
  const { expert, env, perRunEnv, protectedPaths } = await sandboxShape(job, spec.expert.key, gatewayToken)
  const masked = protectedPaths.filter((entry) => entry.mode === "mask").map((entry) => entry.path)
  try {
    await prewarmsQueued(job)
    const sandbox = await job.options.backend.start({
      spec: masked.length > 0 ? { ...spec, maskedPaths: masked } : spec,
      env,
      protectedPaths,
      workspace: job.options.workspace,
      ...(gatewayToken !== undefined ? { envIsPerRun: true, perRunEnv } : {}),
      ...(expert.sandbox ? { settings: expert.sandbox } : {}),
      ...(services ? { services } : {}),
      labels: {
        jobId: spec.jobId,
        runId: spec.runId,
        ...(links.parentRunId ? { parentRunId: links.parentRunId } : {}),
      },
    })
    return { sandbox }
  } catch (error) {
    return { failed: startFailed(error, guard) }
  }
}

function startFailed(error: unknown, guard: RunGuard): WrittenRunError {
  return {
    name: "SandboxStartFailed",
    code: error instanceof PerstackError ? error.code : "sandbox.startFailed",
    message: guard.text(
      `the sandbox could not start: ${error instanceof Error ? error.message : String(error)}`,
    ),
    isRetryable: false,
  }
}

/** The exit of a sandbox that never started, for the crash written in its place. */
export const NEVER_STARTED = { exitCode: null, reason: "crashed" as const, stderrTail: "", durationMs: 0 }
