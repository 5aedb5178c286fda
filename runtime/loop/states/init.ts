// Init: turn the RunSpec's input into the starting checkpoint and the messages that open the segment.
import { PerstackError } from "../../errors/perstack-error.ts"
import type { Checkpoint } from "../../protocol/checkpoint.ts"
import { historyBaseOf, toCheckpointRecord } from "../../protocol/history-index.ts"
import type { InstructionMessage, ToolMessage, UserMessage } from "../../protocol/message.ts"
import { emptyUsage } from "../../protocol/usage.ts"
import { PROTOCOL_VERSION } from "../../protocol/version.ts"
import type { LoopContext } from "../context.ts"
import { buildInstruction } from "../instruction.ts"

export async function init(ctx: LoopContext) {
  const { spec } = ctx
  const stepNumber = spec.stepNumber + 1
  const common = { id: ctx.ids(), jobId: spec.jobId, runId: spec.runId, stepNumber }
  let initial: Checkpoint
  let inputMessages: (InstructionMessage | UserMessage | ToolMessage)[]

  switch (spec.input.type) {
    case "query": {
      initial = {
        protocolVersion: PROTOCOL_VERSION,
        ...common,
        status: "init",
        messages: [],
        expert: { key: spec.expert.key, name: spec.expert.name, version: spec.expert.version },
        usage: emptyUsage(),
        todos: [],
        ...(spec.input.delegatedBy ? { delegatedBy: spec.input.delegatedBy } : {}),
        ...(ctx.contextWindow ? { contextWindow: ctx.contextWindow } : {}),
      }
      const instruction = buildInstruction({
        expert: spec.expert,
        delegates: ctx.skills.tools.flatMap((tool) =>
          tool.delegate ? [{ info: tool.delegate, toolName: tool.llmName }] : [],
        ),
        workspace: spec.workspace ?? process.cwd(),
        now: ctx.clock(),
        isDelegated: spec.isDelegated,
      })
      inputMessages = [ctx.build.instruction(instruction), ctx.build.user(spec.input.text)]
      break
    }
    case "continue": {
      const {
        pendingToolCalls: _p,
        partialToolResults: _r,
        delegateTo: _d,
        error: _e,
        ...rest
      } = spec.input.checkpoint
      initial = { ...rest, ...common, retryCount: 0 }
      inputMessages = [ctx.build.user(spec.input.text)]
      break
    }
    case "resume": {
      const from = spec.input.checkpoint
      const pending = from.pendingToolCalls ?? []
      for (const result of spec.input.toolResults) {
        if (!pending.some((call) => call.id === result.id)) {
          throw new PerstackError(
            "runSpec.invalid",
            `RunSpec input.toolResults: "${result.id}" answers no pending tool call of checkpoint ${from.id}`,
          )
        }
      }
      const answered = new Set(spec.input.toolResults.map((result) => result.id))
      const { delegateTo: _d, error: _e, ...rest } = from
      initial = {
        ...rest,
        ...common,
        pendingToolCalls: pending.filter((call) => !answered.has(call.id)),
        partialToolResults: [...(from.partialToolResults ?? []), ...spec.input.toolResults],
      }
      inputMessages = []
      break
    }
  }
  // The stored part of the conversation: what this segment's first step checkpoint will continue.
  ctx.historyBase = historyBaseOf(spec.input)
  if (ctx.historyBase.messageCount > initial.messages.length) {
    throw new PerstackError(
      "runSpec.invalid",
      `RunSpec input.historyBase: messageCount ${ctx.historyBase.messageCount} is more than the checkpoint's ${initial.messages.length} messages`,
    )
  }
  ctx.checkpoint = { ...initial, status: "proceeding", messages: [...initial.messages, ...inputMessages] }
  ctx.step = { stepNumber, newMessages: [], usage: emptyUsage(), startedAt: ctx.clock() }
  return ctx.events.run("startRun", {
    initialCheckpoint: structuredClone(toCheckpointRecord(initial, ctx.historyBase)),
    inputMessages,
  })
}
