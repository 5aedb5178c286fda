// A run in a container made for it alone (no warm pool): named after the run, its RunSpec in a read-only folder,
// labelled with the run, its parent and its Expert; what was made is removed if the start fails.
import type Docker from "dockerode"
import type { RunSpec } from "../../../runtime/protocol/run-spec.ts"
import type { Sandbox, SandboxStartOptions } from "../sandbox.ts"
import { containerCreateOptions } from "./container-config.ts"
import { startContainerSandbox } from "./container-sandbox.ts"
import type { HostPaths } from "./host-paths.ts"
import { LABEL } from "./labels.ts"
import type { RunPlan } from "./run-plan.ts"
import { createRunSpecDir } from "./run-spec-dir.ts"

export interface ColdStartOptions {
  docker: Docker
  paths: HostPaths
  plan: RunPlan
  /** the RunSpec as the container reads it */
  spec: RunSpec
  labels: SandboxStartOptions["labels"]
  /** the job's, the owner's and the managed label */
  jobLabels: Readonly<Record<string, string>>
  /** the workspace as the orchestrator sees it (the RunSpec folder goes under it) */
  workspace: string
  timeoutMs?: number
  onStderr?: (chunk: Buffer) => void
  onCleanUp: (done: Promise<void>) => void
}

export async function startColdSandbox(options: ColdStartOptions): Promise<Sandbox> {
  const { docker, plan, labels } = options
  const name = `perstack-${labels.runId}`
  const specDir = await createRunSpecDir(options.workspace, name)
  try {
    await specDir.write(options.spec)
    const container = await docker.createContainer(
      containerCreateOptions({
        ...plan,
        env: { ...plan.env, PERSTACK_RUN_ID: labels.runId },
        name,
        hostSpecDir: options.paths.toHost(specDir.dir),
        labels: {
          ...options.jobLabels,
          [LABEL.run]: labels.runId,
          ...(labels.parentRunId ? { [LABEL.parentRun]: labels.parentRunId } : {}),
          [LABEL.expert]: options.spec.expert.key,
        },
      }),
    )
    return await startContainerSandbox({
      container,
      image: plan.image,
      specDir,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      onCleanUp: options.onCleanUp,
    })
  } catch (error) {
    await specDir.remove()
    throw error
  }
}
