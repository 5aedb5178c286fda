// The seeds' `run()` (upstream @perstack/runtime's): a setting in, the job's last checkpoint out, over our run().

import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import type { ErrorCode } from "../../../runtime/errors/error-codes.ts"
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"
import { newId } from "../../../runtime/ids.ts"
import { type Checkpoint, checkpointSchema } from "../../../runtime/protocol/checkpoint.ts"
import type { PerstackEvent } from "../../../runtime/protocol/events/index.ts"
import { JobStore } from "../../store/job-store.ts"
import { type RunOptions, run as runJob } from "../run.ts"
import { CheckpointRelay } from "./checkpoint-relay.ts"
import { providerOf } from "./provider-input.ts"
import {
  IGNORED_SETTING_KEYS,
  type ParsedRunParams,
  parseRunParams,
  type RunCallbacks,
  type RunParams,
} from "./run-params.ts"
import { seedJobStore } from "./seed-store.ts"

type Setting = ParsedRunParams["setting"]

/** Where the job starts: a new job, or the continue of one (seeded from the caller's checkpoint when need be). */
interface Start {
  jobId: string
  continues: boolean
  resumeFrom?: string
  seed?: Checkpoint
}

/**
 * Runs `setting.expertKey` on `setting.input.text` as a job and resolves to the coordinator's last checkpoint
 * (whatever its status: completed, stoppedByInteractiveTool, stoppedByCancel, ...). With storeCheckpoint or
 * retrieveCheckpoint the job's records live in a private folder removed afterwards, and the checkpoints in the
 * caller's store. The callbacks may be given in the params (as the seeds do) or in `options` (as upstream does).
 */
export async function run(params: RunParams, options?: RunCallbacks): Promise<Checkpoint> {
  const parsed = parseRunParams(params, options)
  const { setting } = parsed
  const warn = parsed.onWarning ?? ((message: string) => process.emitWarning(message, "PerstackWarning"))
  for (const [key, reason] of Object.entries(IGNORED_SETTING_KEYS)) {
    if (setting[key as keyof typeof IGNORED_SETTING_KEYS] !== undefined)
      warn(`setting.${key} is ignored: ${reason}`)
  }
  const workspace = path.resolve(setting.workspace ?? ".")
  const external = parsed.storeCheckpoint !== undefined || parsed.retrieveCheckpoint !== undefined
  const privateStore = external ? await mkdtemp(path.join(tmpdir(), "perstack-store-")) : undefined
  const storeRoot = privateStore ?? path.join(workspace, "perstack")
  const store = new JobStore(storeRoot)

  // The first failure of a caller's callback stops the job (gracefully), and is what run() then throws.
  let failure: PerstackError | undefined
  const stopper = new AbortController()
  const fail = (code: ErrorCode, what: string, error: unknown) => {
    failure ??= new PerstackError(code, `${what} failed: ${messageOf(error)}`, { cause: error })
    stopper.abort()
  }
  try {
    const start = await startOf(parsed, store)
    // Checked (the provider table too) before the store is seeded: a refused call writes nothing.
    const runOptions = runOptionsOf(setting, parsed, start)
    if (start.seed) {
      await seedJobStore(store, start.seed, {
        coordinatorExpertKey: setting.expertKey,
        backend: "local",
        now: Date.now(),
      })
    }
    const relay = parsed.storeCheckpoint
      ? new CheckpointRelay({
          store,
          jobId: start.jobId,
          storeCheckpoint: parsed.storeCheckpoint,
          ...(start.seed ? { skip: [start.seed.id] } : {}),
        })
      : undefined
    const listener = parsed.eventListener
    const onEvent = async (event: PerstackEvent) => {
      if (failure) return
      try {
        await listener?.(event)
      } catch (error) {
        return fail("run.eventListenerFailed", "eventListener", error)
      }
      try {
        await relay?.observe(event)
      } catch (error) {
        fail("run.storeCheckpointFailed", "storeCheckpoint", error)
      }
    }
    const signals = [setting.signal, parsed.signal, stopper.signal].filter((s) => s !== undefined)
    let result: Awaited<ReturnType<typeof runJob>>
    try {
      result = await runJob({
        ...runOptions,
        workspace,
        storeRoot,
        signal: AbortSignal.any(signals),
        onEvent,
        onWarning: warn,
      })
    } finally {
      // What the job stored reaches the caller even when it stopped on an error.
      if (relay && !failure)
        await relay.finish().catch((error) => fail("run.storeCheckpointFailed", "storeCheckpoint", error))
    }
    if (failure) throw failure
    if (!result.checkpoint) {
      throw new PerstackError(
        "run.noCheckpoint",
        `job ${result.job.id} ended (${result.status}) before its first checkpoint${result.error ? `: ${result.error}` : ""}`,
      )
    }
    return result.checkpoint
  } catch (error) {
    if (error instanceof PerstackError) throw error
    throw new PerstackError("run.failed", messageOf(error), { cause: error })
  } finally {
    if (privateStore) await rm(privateStore, { recursive: true, force: true })
  }
}

function runOptionsOf(setting: Setting, parsed: ParsedRunParams, start: Start): RunOptions {
  const answer = setting.input.interactiveToolCallResult
  const provider = setting.providerConfig ? providerOf(setting.providerConfig) : undefined
  const envOverrides = { ...setting.env, ...provider?.env }
  return {
    expert: setting.expertKey,
    // Our continue takes an answer as the query, naming the call it answers.
    ...(answer
      ? {
          query: JSON.stringify({ toolCallId: answer.toolCallId, text: answer.text }),
          interactiveAnswer: true,
        }
      : setting.input.text !== undefined
        ? { query: setting.input.text }
        : {}),
    ...(start.continues ? { continueJob: start.jobId } : { jobId: start.jobId }),
    ...(start.resumeFrom ? { resumeFrom: start.resumeFrom } : {}),
    ...(parsed.config !== undefined ? { config: parsed.config } : {}),
    ...(parsed.configPath !== undefined ? { configPath: parsed.configPath } : {}),
    ...(Object.keys(envOverrides).length > 0 ? { envOverrides } : {}),
    ...(provider ? { provider: provider.provider } : {}),
    ...(setting.model !== undefined ? { model: setting.model } : {}),
    ...(setting.reasoningBudget !== undefined ? { reasoningBudget: setting.reasoningBudget } : {}),
    ...(setting.maxSteps !== undefined ? { maxSteps: setting.maxSteps } : {}),
    ...(setting.maxRetries !== undefined ? { maxRetries: setting.maxRetries } : {}),
    ...(setting.timeout !== undefined ? { timeout: setting.timeout } : {}),
  }
}

/** A checkpoint to resume from (given, or retrieved), checked; or the job `setting.jobId` names; or a new job. */
async function startOf(parsed: ParsedRunParams, store: JobStore): Promise<Start> {
  const { setting } = parsed
  const answer = setting.input.interactiveToolCallResult
  if (parsed.checkpoint && parsed.resumeFrom) {
    throw new PerstackError("usage", "run(): give checkpoint or resumeFrom, not both")
  }
  if (parsed.resumeFrom && !setting.jobId) {
    throw new PerstackError("usage", `run(): resumeFrom ${parsed.resumeFrom} needs setting.jobId, its job`)
  }
  let checkpoint = parsed.checkpoint
  if (parsed.resumeFrom && parsed.retrieveCheckpoint) {
    checkpoint = await retrieved(parsed.retrieveCheckpoint, setting.jobId as string, parsed.resumeFrom)
  }
  if (!checkpoint) {
    const jobId = setting.jobId ?? newId()
    const existing = setting.jobId ? await store.readJob(setting.jobId) : undefined
    if (parsed.resumeFrom && !existing) {
      throw new PerstackError(
        "job.notFound",
        `run(): resumeFrom: no job ${jobId} in ${store.paths.jobs} (give retrieveCheckpoint to read it from your store)`,
      )
    }
    if (answer && !existing) {
      throw new PerstackError(
        "usage",
        "run(): setting.input.interactiveToolCallResult answers a job waiting for it: give its checkpoint (or setting.jobId)",
      )
    }
    return {
      jobId,
      continues: existing !== undefined,
      ...(parsed.resumeFrom ? { resumeFrom: parsed.resumeFrom } : {}),
    }
  }

  if (checkpoint.expert.key !== setting.expertKey) {
    throw new PerstackError(
      "checkpoint.wrongExpert",
      `run(): checkpoint ${checkpoint.id} belongs to "${checkpoint.expert.key}", not setting.expertKey "${setting.expertKey}": only the coordinator's checkpoints can be resumed`,
    )
  }
  if (setting.jobId !== undefined && setting.jobId !== checkpoint.jobId) {
    throw new PerstackError(
      "usage",
      `run(): checkpoint ${checkpoint.id} belongs to job ${checkpoint.jobId}, not setting.jobId ${setting.jobId}`,
    )
  }
  if (checkpoint.status === "stoppedByInteractiveTool" && !answer) {
    const call = checkpoint.pendingToolCalls?.[0]
    throw new PerstackError(
      "job.waitingForAnswer",
      `run(): checkpoint ${checkpoint.id} waits for an answer to ${call ? `"${call.toolName}" (tool call ${call.id})` : "an interactive tool"}: give it as setting.input.interactiveToolCallResult`,
    )
  }
  const jobId = checkpoint.jobId
  if (!(await store.readJob(jobId))) return { jobId, continues: true, seed: checkpoint }
  // The job is in the store already: resume from an earlier checkpoint takes a new query; else it goes on from its last.
  if (!answer && setting.input.text !== undefined)
    return { jobId, continues: true, resumeFrom: checkpoint.id }
  const last = (await store.listRuns(jobId))
    .filter((run) => !run.parentRunId && run.expertKey === setting.expertKey)
    .at(-1)?.lastCheckpointId
  if (last !== checkpoint.id) {
    throw new PerstackError(
      "usage",
      `run(): checkpoint ${checkpoint.id} is not job ${jobId}'s last (${last ?? "none"}): resuming from an earlier one takes setting.input.text`,
    )
  }
  return { jobId, continues: true }
}

async function retrieved(
  retrieveCheckpoint: NonNullable<ParsedRunParams["retrieveCheckpoint"]>,
  jobId: string,
  checkpointId: string,
): Promise<Checkpoint> {
  let value: unknown
  try {
    value = await retrieveCheckpoint(jobId, checkpointId)
  } catch (error) {
    throw new PerstackError(
      "run.retrieveCheckpointFailed",
      `retrieveCheckpoint(${jobId}, ${checkpointId}) failed: ${messageOf(error)}`,
      { cause: error },
    )
  }
  const parsed = checkpointSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new PerstackError(
      "run.retrieveCheckpointFailed",
      `retrieveCheckpoint(${jobId}, ${checkpointId}) returned no valid checkpoint: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    )
  }
  if (parsed.data.id !== checkpointId || parsed.data.jobId !== jobId) {
    throw new PerstackError(
      "run.retrieveCheckpointFailed",
      `retrieveCheckpoint(${jobId}, ${checkpointId}) returned checkpoint ${parsed.data.id} of job ${parsed.data.jobId}`,
    )
  }
  return parsed.data
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
