// CallingTool: run the skills' tools in parallel, then stop for delegates or interactive tools, or carry on.
import { RAW_ARGUMENTS_KEY } from "../../llm/chat-messages.ts"
import { BASE_SKILL_NAME } from "../../protocol/config/skill.ts"
import { formatBytes, MAX_STEP_RESULT_BYTES } from "../../protocol/limits.ts"
import type { ExpertMessage } from "../../protocol/message.ts"
import type { Step } from "../../protocol/step.ts"
import type { ToolCall, ToolResult } from "../../protocol/tool.ts"
import { finishStep, type LoopContext, lastExpertText, snapshot } from "../context.ts"

const isCompletion = (call: ToolCall) =>
  call.skillName === BASE_SKILL_NAME && call.toolName === "attemptCompletion"

export async function callTools(ctx: LoopContext) {
  const calls = ctx.step.pendingToolCalls ?? ctx.step.toolCalls ?? []
  const kindOf = (call: ToolCall) =>
    ctx.skills.tools.find((tool) => tool.skillName === call.skillName && tool.toolName === call.toolName)
      ?.kind
  const completion = calls.find(isCompletion)
  const delegates = calls.filter((call) => kindOf(call) === "delegate")
  const interactive = calls.filter((call) => kindOf(call) === "interactive")
  const direct = calls.filter(
    (call) => call !== completion && !delegates.includes(call) && !interactive.includes(call),
  )

  const results = await Promise.all(direct.map((call) => runAndRecord(ctx, call)))
  ctx.checkpoint.todos = ctx.todos.list()
  const partial = [...(ctx.checkpoint.partialToolResults ?? []), ...results]

  if (completion) {
    if (calls.length > 1) {
      // Every call still gets a result; completing before the model has seen them would drop them.
      partial.push(
        ctx.build.errorResult(
          completion,
          "attemptCompletion must be called on its own, once the other tool calls' results are in. Call it again when you are done.",
        ),
      )
    } else {
      const result = await runAndRecord(ctx, completion)
      ctx.checkpoint.todos = ctx.todos.list()
      const openTodos = ctx.todos.list().some((todo) => !todo.completed)
      if (openTodos || result.isError) {
        ctx.step.toolResults = [result]
        return ctx.events.run("resolveToolResults", { toolResults: [result] })
      }
      const text = lastExpertText(ctx)
      if (text.trim() !== "") {
        // The answer came with the call: no second generation needed.
        const message = ctx.build.tool([result], () => "attemptCompletion")
        ctx.checkpoint.messages.push(message)
        ctx.step.newMessages.push(message)
        ctx.step.toolResults = [result]
        return ctx.events.run("completeRun", {
          checkpoint: snapshot(ctx, "completed"),
          step: finishStep(ctx),
          text,
          usage: ctx.step.usage,
        })
      }
      ctx.completion = result
      ctx.step.toolResults = [result]
      return ctx.events.run("attemptCompletion", { toolResult: result })
    }
  }

  const newMessage = lastExpertMessage(ctx)
  if (delegates.length > 0) {
    ctx.checkpoint.pendingToolCalls = [...delegates, ...interactive]
    ctx.checkpoint.partialToolResults = partial
    ctx.step.pendingToolCalls = [...delegates, ...interactive]
    ctx.step.partialToolResults = partial
    return ctx.events.run("callDelegate", { newMessage, toolCalls: delegates, usage: ctx.step.usage })
  }
  const [firstInteractive] = interactive
  if (firstInteractive) {
    ctx.checkpoint.pendingToolCalls = interactive
    ctx.checkpoint.partialToolResults = partial
    ctx.step.pendingToolCalls = interactive
    ctx.step.partialToolResults = partial
    return ctx.events.run("callInteractiveTool", {
      newMessage,
      toolCall: firstInteractive,
      usage: ctx.step.usage,
    })
  }
  ctx.step.toolResults = partial
  return ctx.events.run("resolveToolResults", { toolResults: partial })
}

function lastExpertMessage(ctx: LoopContext): ExpertMessage {
  const message = ctx.checkpoint.messages.findLast((entry) => entry.type === "expertMessage")
  return message?.type === "expertMessage" ? message : { type: "expertMessage", id: ctx.ids(), contents: [] }
}

/** How many bytes of tool results each step has taken so far (a step's object lives as long as the step). */
const resultBytes = new WeakMap<Step, number>()

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value))

/**
 * The result as the step can carry it: a result that would take the step's results past MAX_STEP_RESULT_BYTES is
 * replaced by an error saying so, with its size and the room that was left, so the model asks for less.
 */
function withinStepCap(ctx: LoopContext, call: ToolCall, result: ToolResult): ToolResult {
  const spent =
    resultBytes.get(ctx.step) ??
    (ctx.checkpoint.partialToolResults ?? []).reduce((sum, done) => sum + jsonBytes(done.result), 0)
  const size = jsonBytes(result.result)
  if (spent + size <= MAX_STEP_RESULT_BYTES) {
    resultBytes.set(ctx.step, spent + size)
    return result
  }
  const error = ctx.build.errorResult(
    call,
    `the result was ${formatBytes(size)}, over what this step's tool results may carry (${formatBytes(MAX_STEP_RESULT_BYTES)} together; ${formatBytes(Math.max(0, MAX_STEP_RESULT_BYTES - spent))} was left), so it was dropped. Ask for less at a time: a range of lines, a narrower search, output written to a file and read in parts`,
  )
  resultBytes.set(ctx.step, spent + jsonBytes(error.result))
  return error
}

/** Runs the call and reports its result at once, so a crash later in the step cannot make it run again. */
async function runAndRecord(ctx: LoopContext, call: ToolCall): Promise<ToolResult> {
  const result = withinStepCap(ctx, call, await runTool(ctx, call))
  await ctx.emit(ctx.events.run("recordToolResult", { toolResult: result }))
  return result
}

/** Never throws: an unknown tool, broken arguments or a failing tool all become an error result the model sees. */
async function runTool(ctx: LoopContext, call: ToolCall): Promise<ToolResult> {
  const raw = call.args[RAW_ARGUMENTS_KEY]
  if (typeof raw === "string") {
    return ctx.build.errorResult(call, `the arguments are not a JSON object: ${raw.slice(0, 200)}`)
  }
  const entry = ctx.skills.tools.find(
    (tool) => tool.skillName === call.skillName && tool.toolName === call.toolName,
  )
  if (entry?.kind !== "tool") {
    const names = ctx.skills.tools.map((tool) => tool.llmName).join(", ")
    return ctx.build.errorResult(call, `there is no tool named "${call.toolName}". Available tools: ${names}`)
  }
  const outcome = await ctx.skills.call(entry, call.args, ctx.signal)
  return ctx.build.result(call, outcome.contents, outcome.isError)
}
