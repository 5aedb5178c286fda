// Where a run stood when its sandbox died: the last checkpoint, the step in flight and the tool calls that had
// finished. The same tracker follows a live sandbox and replays a stored event log after the orchestrator died.
import type { Checkpoint, CheckpointRecord } from "../../runtime/protocol/checkpoint.ts"
import type { PerstackConfig } from "../../runtime/protocol/config/perstack-toml.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import type { ExpertMessage, Message } from "../../runtime/protocol/message.ts"
import type { RunInput } from "../../runtime/protocol/run-spec.ts"
import type { ToolCall, ToolResult } from "../../runtime/protocol/tool.ts"
import { addUsage, type Usage } from "../../runtime/protocol/usage.ts"

/**
 * Terminal errors that mean "the sandbox died" (or the orchestrator under it), not "the run failed": such a run is
 * resumed, not reported.
 */
export const CRASH_CODES: ReadonlySet<string> = new Set([
  "sandbox.crashed",
  "sandbox.oomKilled",
  "orchestrator.lost",
  "orchestrator.failed",
  "store.diskFull",
])

export class RecoveryTracker {
  /** the state at the start of the step in flight, as a record (the conversation it continues is stored) */
  private checkpoint: CheckpointRecord | undefined
  private inFlight: { message: ExpertMessage; toolCalls: ToolCall[]; usage: Usage } | undefined
  private recorded: ToolResult[] = []

  observe(event: PerstackEvent): void {
    switch (event.type) {
      case "startRun": {
        const initial = event.initialCheckpoint
        this.checkpoint = {
          ...initial,
          status: "proceeding",
          history: {
            ...initial.history,
            newMessages: [...initial.history.newMessages, ...event.inputMessages],
          },
        }
        break
      }
      case "callTools":
        this.inFlight = { message: event.newMessage, toolCalls: event.toolCalls, usage: event.usage }
        break
      case "recordToolResult":
        this.recorded.push(event.toolResult)
        break
      case "continueToNextStep":
        this.checkpoint = event.nextCheckpoint
        this.inFlight = undefined
        this.recorded = []
        break
    }
  }

  /** The last state the run reported, for the crash record. */
  get lastCheckpoint(): CheckpointRecord | undefined {
    return this.checkpoint
  }

  /**
   * The input that resumes the run in a fresh sandbox: the step in flight with its finished calls' results, so only
   * the unfinished calls run again (those that were running in the sandbox are marked: their side effects may repeat).
   * Undefined when the run never got as far as its first checkpoint. `messagesOf` gives a stored checkpoint's
   * conversation, which the input's is put together from.
   */
  async recoveryInput(
    config: PerstackConfig,
    expertKey: string,
    messagesOf: (checkpointId: string) => Promise<readonly Message[]>,
  ): Promise<RunInput | undefined> {
    const record = this.checkpoint
    if (!record) return undefined
    const { history, ...fields } = record
    const stored = history.checkpointId === undefined ? [] : await messagesOf(history.checkpointId)
    const base = { ...fields, messages: [...stored.slice(0, history.messageCount), ...history.newMessages] }
    const done = new Set(this.recorded.map((result) => result.id))
    const calls = this.inFlight?.toolCalls ?? base.pendingToolCalls ?? []
    const pending = calls.filter((call) => !done.has(call.id))
    const skills = config.experts[expertKey]?.skills ?? {}
    // Delegates and interactive tools never ran inside the sandbox; every other unfinished call had started.
    const repeated = pending.filter(
      (call) =>
        !call.skillName.startsWith("delegate/") && skills[call.skillName]?.type !== "interactiveSkill",
    )
    const checkpoint: Checkpoint = {
      ...base,
      status: "proceeding",
      messages: this.inFlight ? [...base.messages, this.inFlight.message] : base.messages,
      usage: this.inFlight ? addUsage(base.usage, this.inFlight.usage) : base.usage,
      pendingToolCalls: pending,
      partialToolResults: [...(this.inFlight ? [] : (base.partialToolResults ?? [])), ...this.recorded],
    }
    const { newMessages: _, ...historyBase } = history
    return {
      type: "resume",
      checkpoint,
      toolResults: [],
      ...(repeated.length > 0 ? { repeatedToolCallIds: repeated.map((call) => call.id) } : {}),
      // What the store holds of it: the sandbox's first record continues that, not this made-up checkpoint.
      historyBase,
    }
  }
}
