// The live state of one run segment, shared by the loop's states.
import type { Clock, IdGenerator } from "../ids.ts"
import type { LlmClient } from "../llm/generate.ts"
import type { Checkpoint, CheckpointRecord, HistoryBase } from "../protocol/checkpoint.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { toCheckpointRecord } from "../protocol/history-index.ts"
import type { RunSpec } from "../protocol/run-spec.ts"
import type { Status } from "../protocol/status.ts"
import type { Step } from "../protocol/step.ts"
import type { ToolResult } from "../protocol/tool.ts"
import type { TodoStore } from "../skills/base/todo-store.ts"
import type { SkillSet } from "../skills/skill-set.ts"
import type { EventFactory } from "./event-factory.ts"
import type { MessageBuilder } from "./messages.ts"

export interface LoopContext {
  readonly spec: RunSpec
  readonly ids: IdGenerator
  readonly clock: Clock
  readonly build: MessageBuilder
  readonly events: EventFactory
  readonly llm: LlmClient
  readonly skills: SkillSet
  readonly todos: TodoStore
  readonly signal: AbortSignal
  readonly contextWindow: number | undefined
  /** the state to resume from: messages, usage, pending calls, todos */
  checkpoint: Checkpoint
  /**
   * The stored checkpoint the next printed record continues: the last step's checkpoint, or at the start the one
   * the RunSpec's input names. Each record then carries only the messages after it.
   */
  historyBase: HistoryBase
  step: Step
  stepsTaken: number
  /** the attemptCompletion result that GeneratingRunResult answers */
  completion?: ToolResult
  /** emits a side event (streaming, retry, skill lifecycle) without changing state */
  emit(event: PerstackEvent): Promise<void>
}

/** The record of the live checkpoint with the given status and the todo list folded in (a copy: events keep it). */
export function snapshot(
  ctx: LoopContext,
  status: Status,
  extra: Partial<Omit<Checkpoint, "messages">> = {},
): CheckpointRecord {
  const whole = { ...ctx.checkpoint, status, todos: ctx.todos.list(), ...extra }
  return structuredClone(toCheckpointRecord(whole, ctx.historyBase))
}

export function finishStep(ctx: LoopContext): Step {
  ctx.step.finishedAt = ctx.clock()
  return structuredClone(ctx.step)
}

/** The last expert message's text, if the model wrote any next to its tool calls. */
export function lastExpertText(ctx: LoopContext): string {
  const last = ctx.checkpoint.messages.findLast((message) => message.type === "expertMessage")
  if (last?.type !== "expertMessage") return ""
  return last.contents.flatMap((part) => (part.type === "textPart" ? [part.text] : [])).join("")
}

/** The name the model called a tool by, read from its call in the conversation (the call may predate this segment). */
export function calledName(ctx: LoopContext, result: ToolResult): string {
  for (let i = ctx.checkpoint.messages.length - 1; i >= 0; i--) {
    const message = ctx.checkpoint.messages[i]
    if (message?.type !== "expertMessage") continue
    const part = message.contents.find(
      (content) => content.type === "toolCallPart" && content.toolCallId === result.id,
    )
    if (part?.type === "toolCallPart") return part.toolName
  }
  return result.toolName
}
