// A warm sandbox's rehearsal while it waits for its run: a delegation and its resume, played in memory against a
// scripted model, nothing printed. The first pass through the RunSpec's schema, the loop, the base skill and the
// events costs a run about ten times what the next one does (V8 compiles and optimises on first use); rehearsed, that
// cost is paid before the run is handed over, not between it and its first LLM request.
import { newId } from "../ids.ts"
import type { Generation, LlmClient } from "../llm/generate.ts"
import { runSegment } from "../loop/run-segment.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { checkpointRecordsOf, HistoryIndex } from "../protocol/history-index.ts"
import { type RunInput, type RunSpec, runSpecSchema } from "../protocol/run-spec.ts"
import { emptyUsage } from "../protocol/usage.ts"
import { PROTOCOL_VERSION } from "../protocol/version.ts"

const DELEGATE = "rehearsal-delegate"

/** The model's replies, in turn: a delegate call, then an answer. */
function scriptedModel(replies: Generation[], signal: AbortSignal): LlmClient {
  return {
    async generate({ messages, observer }) {
      signal.throwIfAborted()
      // What a real request would be sent as, serialised and thrown away.
      JSON.stringify(messages)
      const reply = replies.shift() ?? { ...answer, text: "" }
      if (reply.text !== "") observer?.onTextDelta?.(reply.text)
      return reply
    },
  }
}

const answer: Generation = {
  text: "rehearsed",
  reasoning: "",
  toolCalls: [],
  finishReason: "stop",
  usage: emptyUsage(),
}

function specOf(input: RunInput, workspace: string): RunSpec {
  const spec: RunSpec = {
    protocolVersion: PROTOCOL_VERSION,
    jobId: newId(),
    runId: newId(),
    expert: {
      key: "rehearsal",
      name: "rehearsal",
      version: "1.0.0",
      instruction: "Rehearse.",
      skills: {},
      tags: [],
    },
    delegates: [{ key: DELEGATE, name: DELEGATE, version: "1.0.0" }],
    isDelegated: false,
    provider: { providerName: "openai" },
    model: "rehearsal",
    reasoningBudget: "none",
    limits: { stepBudget: 4, maxRetries: 0, timeout: 10_000 },
    stepNumber: input.type === "query" ? 0 : input.checkpoint.stepNumber,
    input,
    workspace,
  }
  // As the run's own is read: through the schema, from its JSON.
  return runSpecSchema.parse(JSON.parse(JSON.stringify(spec)))
}

async function segment(spec: RunSpec, replies: Generation[], signal: AbortSignal) {
  const events: PerstackEvent[] = []
  const terminal = await runSegment({
    spec,
    llm: scriptedModel(replies, signal),
    emit: (event) => {
      // As the NDJSON writer would, without writing.
      JSON.stringify(event)
      events.push(event)
    },
    env: {},
    signal,
  })
  return { terminal, events }
}

/**
 * Rehearses in `workspace` until done or `signal` (the run arrived) aborts it; never throws, never prints. Leaves no
 * state a run reads: a run sets up its workspace's masked paths itself, and its skills are its own. Says how it went
 * (a rehearsal that fails costs its run nothing but the warm-up; a test sees that it still plays through).
 */
export async function rehearse(
  workspace: string,
  signal: AbortSignal,
): Promise<"rehearsed" | "stopped" | "failed"> {
  try {
    const delegateCall: Generation = {
      ...answer,
      text: "",
      toolCalls: [{ id: "call_rehearsal", name: `delegate__${DELEGATE}`, arguments: '{"query":"rehearse"}' }],
      finishReason: "tool_calls",
    }
    const query = specOf({ type: "query", text: "rehearse" }, workspace)
    const first = await segment(query, [delegateCall], signal)
    if (signal.aborted) return "stopped"
    if (first.terminal.type !== "stopRunByDelegate") return "failed"
    const index = HistoryIndex.forInput(query.input)
    for (const event of first.events) {
      if (event !== first.terminal) for (const record of checkpointRecordsOf(event)) index.add(record)
    }
    const checkpoint = index.whole(first.terminal.checkpoint)
    const resume = specOf(
      {
        type: "resume",
        checkpoint,
        toolResults: (checkpoint.delegateTo ?? []).map((target) => ({
          id: target.toolCallId,
          skillName: `delegate/${DELEGATE}`,
          toolName: DELEGATE,
          result: [{ type: "textPart" as const, id: newId(), text: "rehearsed" }],
        })),
      },
      workspace,
    )
    const second = await segment(resume, [answer], signal)
    if (signal.aborted) return "stopped"
    return second.terminal.type === "completeRun" ? "rehearsed" : "failed"
  } catch {
    return signal.aborted ? "stopped" : "failed"
  }
}
