// What a job does before its coordinator runs: the checks that refuse it (before and under its lock, so a refused
// command changes nothing on disk), the abandoned jobs settled, its gateway and egress proxy, its first record.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { IdGenerator } from "../../runtime/ids.ts"
import type { Job, JobInput } from "../../runtime/protocol/job.ts"
import { emptyUsage } from "../../runtime/protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../runtime/protocol/version.ts"
import { egressDomains } from "../gateway/domain-allowlist.ts"
import { type EgressProxy, startEgressProxy } from "../gateway/egress-proxy.ts"
import { type LlmGateway, startLlmGateway } from "../gateway/llm-gateway.ts"
import type { JobStore } from "../store/job-store.ts"
import { describeOutcome, settleAbandoned } from "../trust/workspace-guard.ts"
import { type ContinueRequest, planContinue } from "./continue-job.ts"
import type { RunJobOptions } from "./run-job.ts"
import { expertOf } from "./run-spec-factory.ts"
import { checkProviderEnv } from "./sandbox-env.ts"

export interface AdmittedJob {
  /** the job continued, when it is one */
  existing: Job | undefined
  jobId: string
}

/** The checks that need no lock: the Expert, the provider's key, the budget's gateway, the job to continue. */
export async function admitJob(
  options: RunJobOptions,
  store: JobStore,
  ids: IdGenerator,
): Promise<AdmittedJob> {
  expertOf(options.config, options.expertKey)
  checkProviderEnv(options.settings.provider, options.env)
  if (options.config.budget && !options.settings.gateway) {
    throw new PerstackError(
      "budget.needsGateway",
      "[budget] in perstack.toml is enforced by the LLM gateway, which is off for this job: drop --no-gateway (or gateway: false), or remove [budget]",
    )
  }
  const existing = options.continueJob ? await store.readJob(options.continueJob.jobId) : undefined
  if (options.continueJob && !existing) {
    throw new PerstackError("job.notFound", `no job ${options.continueJob.jobId} in ${store.paths.jobs}`)
  }
  if (existing && existing.coordinatorExpertKey !== options.expertKey) {
    throw new PerstackError(
      "job.wrongExpert",
      `job ${existing.id} belongs to "${existing.coordinatorExpertKey}", not "${options.expertKey}"`,
    )
  }
  return { existing, jobId: existing?.id ?? options.jobId ?? ids() }
}

/** What sandboxes of jobs whose orchestrator died left in the workspace, settled (each job under its lock). */
export async function settleAbandonedJobs(
  workspace: string,
  store: JobStore,
  isolated: boolean,
  warn: (message: string) => void,
): Promise<void> {
  const claim = async (id: string) => {
    const held = await store.lock(id)
    return () => held.release()
  }
  for (const settled of await settleAbandoned({ workspace, storeRoot: store.paths.root, claim })) {
    for (const line of describeOutcome(settled.jobId, settled, isolated)) warn(line)
  }
}

/** The checks that read what another process may be writing: made under the job's lock. */
export async function refuseUnderLock(
  store: JobStore,
  { existing, jobId }: AdmittedJob,
  options: RunJobOptions,
  ids: IdGenerator,
): Promise<void> {
  if (existing && options.continueJob) {
    await refuseContinue(store, existing, options.continueJob, options, ids)
  } else if (options.jobId !== undefined && (await store.readJob(jobId))) {
    throw new PerstackError(
      "job.exists",
      `job ${jobId} already exists in ${store.paths.jobs}: continue it with --continue-job ${jobId}, or choose another --job-id`,
    )
  }
}

/** Throws what a continue request would be refused for, reading the job's records only. */
async function refuseContinue(
  store: JobStore,
  existing: Job,
  request: ContinueRequest,
  options: RunJobOptions,
  ids: IdGenerator,
): Promise<void> {
  if (options.settings.maxSteps <= existing.totalSteps) {
    throw new PerstackError(
      "job.noStepsLeft",
      `job ${existing.id} has taken ${existing.totalSteps} of its ${options.settings.maxSteps} steps (--max-steps): give a larger --max-steps to continue it`,
    )
  }
  await planContinue({
    store,
    job: existing,
    expertKey: options.expertKey,
    request,
    query: options.query,
    ids,
  })
}

/** PERSTACK_GATEWAY_PORT, checked: a port number, or undefined when unset. */
function gatewayPort(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const value = env.PERSTACK_GATEWAY_PORT
  if (value === undefined || value === "") return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new PerstackError(
      "gateway.badPort",
      `PERSTACK_GATEWAY_PORT="${value}": expected a port number (1-65535)`,
    )
  }
  return port
}

export async function startJobGateway(
  options: RunJobOptions,
  host: string,
  existing: Job | undefined,
): Promise<LlmGateway> {
  const port = gatewayPort(options.env)
  return startLlmGateway({
    provider: options.settings.provider,
    env: options.env,
    host,
    // A fixed port where NetworkPolicies name it (k8s/: 8089); any free one otherwise.
    ...(port !== undefined ? { port } : {}),
    ...(options.config.budget ? { budget: options.config.budget } : {}),
    ...(existing ? { initialUsage: existing.usage } : {}),
  })
}

/** Beside the gateway, for the Experts whose skills may reach some domains from a locked-down sandbox. */
export async function startJobEgressProxy(
  options: RunJobOptions,
  host: string,
): Promise<EgressProxy | undefined> {
  const anyDomains = Object.values(options.config.experts).some((expert) => egressDomains(expert).length > 0)
  return anyDomains ? startEgressProxy({ host, ...options.egressProxy }) : undefined
}

/** The job's record as it (re)starts: a new one, or the continued one running again with no finish time. */
export function jobRecord(
  options: RunJobOptions,
  start: AdmittedJob & { inputs: JobInput[]; startedAt: number },
): Job {
  const { existing, jobId, inputs, startedAt } = start
  const { maxSteps } = options.settings
  if (existing) {
    const { finishedAt: _, ...running } = existing
    return { ...running, status: "proceeding", maxSteps, inputs }
  }
  return {
    protocolVersion: PROTOCOL_VERSION,
    id: jobId,
    status: "proceeding",
    coordinatorExpertKey: options.expertKey,
    ...(options.query !== undefined ? { query: options.query } : {}),
    backend: options.backend.name,
    totalSteps: 0,
    maxSteps,
    usage: emptyUsage(),
    inputs,
    startedAt,
  }
}
