// Turns a generation's deltas into the streaming events, in order, without blocking the stream.
import type { GenerationObserver } from "../llm/generate.ts"
import { emptyUsage } from "../protocol/usage.ts"
import type { LoopContext } from "./context.ts"

export interface StreamingEvents {
  observer: GenerationObserver
  /** emits the closing events and waits until every event is out */
  finish(): Promise<void>
}

export function streamEvents(ctx: LoopContext, options: { runResult: boolean }): StreamingEvents {
  let queue = Promise.resolve()
  const send = (make: () => Parameters<LoopContext["emit"]>[0]) => {
    const event = make()
    queue = queue.then(() => ctx.emit(event))
  }
  let reasoning: string | undefined
  let result: string | undefined
  const completeReasoning = () => {
    if (reasoning === undefined) return
    const text = reasoning
    reasoning = undefined
    send(() => ctx.events.run("completeStreamingReasoning", { text }))
  }
  return {
    observer: {
      onReasoningDelta(delta) {
        if (reasoning === undefined) {
          reasoning = ""
          send(() => ctx.events.run("startStreamingReasoning", {}))
        }
        reasoning += delta
        send(() => ctx.events.run("streamReasoning", { delta }))
      },
      onTextDelta(delta) {
        completeReasoning()
        // Text is streamed only for the final answer: mid-loop text may still be followed by tool calls.
        if (!options.runResult) return
        if (result === undefined) {
          result = ""
          send(() => ctx.events.run("startStreamingRunResult", {}))
        }
        result += delta
        send(() => ctx.events.run("streamRunResult", { delta }))
      },
      onRetry({ attempt, delayMs, error }) {
        completeReasoning()
        const reason = `${error.code}: ${error.message} (retry ${attempt} of ${ctx.spec.limits.maxRetries} in ${delayMs} ms)`
        // A transport retry inside the step: nothing joins the conversation and no step is consumed.
        send(() => ctx.events.run("retry", { reason, newMessages: [], usage: emptyUsage() }))
        if (result !== undefined) result = undefined
      },
    },
    async finish() {
      completeReasoning()
      if (result !== undefined) {
        const text = result
        send(() => ctx.events.run("completeStreamingRunResult", { text }))
      }
      await queue
    },
  }
}
