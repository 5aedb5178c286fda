// Runs one segment of one Expert: the original's state machine, each state emitting exactly one state event.
import { realpath } from "node:fs/promises"
import { PerstackError } from "../errors/perstack-error.ts"
import type { Clock, IdGenerator } from "../ids.ts"
import { newId, systemClock } from "../ids.ts"
import type { LlmClient } from "../llm/generate.ts"
import { contextWindowOf } from "../llm/known-models.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { isTerminalEvent, type TerminalEvent } from "../protocol/events/terminal.ts"
import type { RunSpec } from "../protocol/run-spec.ts"
import type { ToolCall } from "../protocol/tool.ts"
import { emptyUsage } from "../protocol/usage.ts"
import { TodoStore } from "../skills/base/todo-store.ts"
import { maskWorkspacePaths } from "../skills/base/workspace-path.ts"
import type { McpTimeouts } from "../skills/mcp/mcp-skill.ts"
import { prepareSkillSet, type SkillSet } from "../skills/skill-set.ts"
import { RUNTIME_VERSION } from "../version.ts"
import type { LoopContext } from "./context.ts"
import { createEventFactory } from "./event-factory.ts"
import { stopByError } from "./generation.ts"
import { createMessageBuilder } from "./messages.ts"
import { callTools } from "./states/call-tools.ts"
import { generateRunResult } from "./states/generate-run-result.ts"
import { generateToolCall } from "./states/generate-tool-call.ts"
import { init } from "./states/init.ts"
import { prepareForStep } from "./states/prepare-for-step.ts"
import {
  callDelegate,
  callInteractiveTool,
  finishingStep,
  resolveToolResult,
} from "./states/stop-and-finish.ts"

type State =
  | "Init"
  | "PreparingForStep"
  | "GeneratingToolCall"
  | "CallingTool"
  | "ResolvingToolResult"
  | "GeneratingRunResult"
  | "CallingInteractiveTool"
  | "CallingDelegate"
  | "FinishingStep"

const LOGIC: Record<State, (ctx: LoopContext) => Promise<PerstackEvent>> = {
  Init: init,
  PreparingForStep: prepareForStep,
  GeneratingToolCall: generateToolCall,
  CallingTool: callTools,
  ResolvingToolResult: resolveToolResult,
  GeneratingRunResult: generateRunResult,
  CallingInteractiveTool: callInteractiveTool,
  CallingDelegate: callDelegate,
  FinishingStep: finishingStep,
}

/** Reference §4.2, plus PreparingForStep → stop when a segment starts with no step budget. */
const TRANSITIONS: Record<State, Partial<Record<PerstackEvent["type"], State>>> = {
  Init: { startRun: "PreparingForStep" },
  PreparingForStep: {
    startGeneration: "GeneratingToolCall",
    resumeToolCalls: "CallingTool",
    finishAllToolCalls: "FinishingStep",
  },
  GeneratingToolCall: { callTools: "CallingTool", retry: "FinishingStep" },
  CallingTool: {
    resolveToolResults: "ResolvingToolResult",
    attemptCompletion: "GeneratingRunResult",
    callDelegate: "CallingDelegate",
    callInteractiveTool: "CallingInteractiveTool",
  },
  ResolvingToolResult: { finishToolCall: "FinishingStep" },
  GeneratingRunResult: { retry: "FinishingStep" },
  CallingInteractiveTool: {},
  CallingDelegate: {},
  FinishingStep: { continueToNextStep: "PreparingForStep" },
}

export interface RunSegmentOptions {
  spec: RunSpec
  llm: LlmClient
  /** receives every event in order; the loop waits for it (backpressure) */
  emit: (event: PerstackEvent) => void | Promise<void>
  /** the sandbox's environment: exec passes a filtered part of it on */
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  /**
   * Resolves once the orchestrator has stored the event: tool calls run only after their callTools event is
   * acknowledged, so a call with side effects is never lost if the orchestrator dies. Rejects when it is gone.
   */
  acknowledged?: (eventId: string) => Promise<void>
  ids?: IdGenerator
  clock?: Clock
  /** MCP servers' start, call and stop bounds (tests shorten them) */
  mcpTimeouts?: Partial<McpTimeouts>
}

/**
 * Whether a step's calls include one this sandbox runs itself. Delegate calls and interactive ones are run by the
 * orchestrator (a delegate's run, the user's answer), only after it has stored the event that asks for them, so they
 * need no acknowledgement; waiting for one only held a delegation back by a round trip.
 */
function runsHere(ctx: LoopContext, calls: readonly ToolCall[]): boolean {
  return calls.some((call) => {
    const kind = ctx.skills.tools.find(
      (tool) => tool.skillName === call.skillName && tool.toolName === call.toolName,
    )?.kind
    return kind !== "delegate" && kind !== "interactive"
  })
}

/**
 * Runs until a terminal event and returns it. Throws only for a run that cannot start: a RunSpec or environment
 * problem (a missing requiredEnv variable, ...) before anything is emitted. An MCP server that does not start ends
 * the run with stopRunByError (code `skill.startFailed`), after that skill's events.
 */
export async function runSegment(options: RunSegmentOptions): Promise<TerminalEvent> {
  const { spec } = options
  const ids = options.ids ?? newId
  const clock = options.clock ?? systemClock
  const signal = options.signal ?? new AbortController().signal
  // Resolved once: every path check compares against the real path.
  const workspace = await realpath(spec.workspace ?? process.cwd())
  maskWorkspacePaths(workspace, spec.maskedPaths ?? [])
  const initialTodos = spec.input.type === "query" ? [] : (spec.input.checkpoint.todos ?? [])
  const todos = new TodoStore(initialTodos)
  let stepNumber = spec.stepNumber + 1
  const events = createEventFactory({
    jobId: spec.jobId,
    runId: spec.runId,
    expertKey: spec.expert.key,
    ids,
    clock,
    stepNumber: () => stepNumber,
  })
  const emit = async (event: PerstackEvent) => {
    await options.emit(event)
  }
  const preparedSkills = prepareSkillSet({
    expert: spec.expert,
    delegates: spec.delegates,
    isDelegated: spec.isDelegated,
    baseContext: { workspace, todos, env: options.env ?? {}, forwardedEnv: spec.forwardedEnv ?? [], signal },
    ids,
    skillLocks: spec.skillLocks,
    mcpTimeouts: options.mcpTimeouts,
    events: {
      onStarting: (skillName, launch) => void emit(events.runtime("skillStarting", { skillName, ...launch })),
      onConnected: (skillName, info) => void emit(events.runtime("skillConnected", { skillName, ...info })),
      onStderr: (skillName, message) => void emit(events.runtime("skillStderr", { skillName, message })),
      onDisconnected: (skillName) => void emit(events.runtime("skillDisconnected", { skillName })),
    },
  })

  await emit(
    events.runtime("initializeRuntime", {
      runtimeVersion: RUNTIME_VERSION,
      runtime: "perstack",
      expertName: spec.expert.name,
      experts: [spec.expert.key, ...spec.delegates.map((delegate) => delegate.key)],
      model: spec.model,
      maxSteps: spec.stepNumber + spec.limits.stepBudget,
      maxRetries: spec.limits.maxRetries,
      timeout: spec.limits.timeout,
      ...(spec.input.type !== "resume" ? { query: spec.input.text } : {}),
    }),
  )
  // MCP servers without a lock start here, in parallel, and list their tools for the first LLM request.
  let skills: SkillSet
  let startFailure: PerstackError | undefined
  try {
    skills = await preparedSkills.open()
  } catch (error) {
    if (!(error instanceof PerstackError) || error.code !== "skill.startFailed") throw error
    // A run error, not a crash: the run stops with which skill failed and why (its stderr's end), for the
    // parent's tool result or the user, and nothing retries a start that fails the same way every time.
    skills = preparedSkills.withoutServers()
    startFailure = error
  }
  const ctx: LoopContext = {
    spec,
    ids,
    clock,
    build: createMessageBuilder(ids),
    events,
    llm: options.llm,
    skills,
    todos,
    signal,
    contextWindow: contextWindowOf(spec.model),
    // Init replaces these before anything reads them.
    checkpoint: undefined as never,
    historyBase: { messageCount: 0 },
    step: { stepNumber, newMessages: [], usage: emptyUsage(), startedAt: clock() },
    stepsTaken: 0,
    emit,
  }
  let closed = false
  try {
    if (startFailure) {
      await emit(await init(ctx))
      const event = stopByError(ctx, startFailure)
      closed = true
      await skills.close()
      await emit(event)
      return event
    }
    let state: State = "Init"
    for (;;) {
      const event: PerstackEvent = await LOGIC[state](ctx)
      if (isTerminalEvent(event)) {
        // Skills shut down first, so the terminal event is the sandbox's last line.
        closed = true
        await skills.close()
        await emit(event)
        return event
      }
      await emit(event)
      if (event.type === "callTools" && options.acknowledged && runsHere(ctx, event.toolCalls)) {
        await options.acknowledged(event.id)
      }
      const next: State | undefined = TRANSITIONS[state][event.type]
      if (!next) throw new Error(`internal: no transition from ${state} on ${event.type}`)
      state = next
      stepNumber = ctx.checkpoint.stepNumber
    }
  } finally {
    if (!closed) await skills.close()
  }
}
