// A warm sandbox's rehearsal while it waits for its run: a delegation and its resume, played in memory against a
// scripted model, nothing printed. The first pass through the RunSpec's schema, the loop, the base skill and the
// events costs a run about ten times what the next one does (V8 compiles and optimises on first use); rehearsed, that
// cost is paid before the run is handed over, not between it and its first LLM request.
import { Readable } from "node:stream"
import { newId } from "../ids.ts"
import { createLlmClient, type LlmClient } from "../llm/generate.ts"
import { resolveProvider } from "../llm/resolve-provider.ts"
import { runSegment } from "../loop/run-segment.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { checkpointRecordsOf, HistoryIndex } from "../protocol/history-index.ts"
import { type RunInput, type RunSpec, runSpecSchema } from "../protocol/run-spec.ts"
import { PROTOCOL_VERSION } from "../protocol/version.ts"

const DELEGATE = "rehearsal-delegate"

/** A chat completion's stream as a server sends it: the chunks as SSE, the usage last. */
function sseOf(reply: { text?: string; toolCall?: { id: string; name: string; arguments: string } }): string {
  const chunk = (choices: unknown[], usage?: unknown) =>
    `data: ${JSON.stringify({ id: "rehearsal", object: "chat.completion.chunk", created: 0, model: "rehearsal", choices, ...(usage ? { usage } : {}) })}\n\n`
  const delta = reply.toolCall
    ? {
        role: "assistant",
        tool_calls: [{ index: 0, id: reply.toolCall.id, type: "function", function: reply.toolCall }],
      }
    : { role: "assistant", content: reply.text ?? "" }
  return [
    chunk([{ index: 0, delta, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, finish_reason: reply.toolCall ? "tool_calls" : "stop" }]),
    chunk([], { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }),
    "data: [DONE]\n\n",
  ].join("")
}

/**
 * The run's own LLM client, its replies (in turn) played by a transport in memory, so the SDK's request and stream
 * code are rehearsed too; nothing leaves the process.
 */
function scriptedModel(replies: string[], signal: AbortSignal): LlmClient {
  return createLlmClient({
    provider: resolveProvider({
      provider: { providerName: "openai" },
      env: { OPENAI_API_KEY: "rehearsal" },
      baseUrlOverride: "http://127.0.0.1:9/v1",
    }),
    model: "rehearsal",
    reasoningBudget: "none",
    timeoutMs: 10_000,
    maxRetries: 0,
    fetch: async (_input, init = {}) => {
      signal.throwIfAborted()
      // As nodeFetch takes a request in and hands a response out.
      new Headers(init.headers).forEach(() => {})
      if (typeof init.body === "string") JSON.parse(init.body)
      const body = Readable.toWeb(Readable.from([Buffer.from(replies.shift() ?? sseOf({ text: "" }))]))
      return new Response(body as ReadableStream<Uint8Array>, {
        status: 200,
        headers: new Headers({ "content-type": "text/event-stream" }),
      })
    },
  })
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

async function segment(spec: RunSpec, replies: string[], signal: AbortSignal) {
  signal.throwIfAborted()
  const events: PerstackEvent[] = []
  const terminal = await runSegment({
    spec,
    llm: scriptedModel(replies, signal),
    emit: (event) => {
      // The run has arrived: the rehearsal ends at its next event, not at its next model request.
      signal.throwIfAborted()
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
    const delegateCall = sseOf({
      toolCall: { id: "call_rehearsal", name: `delegate__${DELEGATE}`, arguments: '{"query":"rehearse"}' },
    })
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
    const second = await segment(resume, [sseOf({ text: "rehearsed" })], signal)
    if (signal.aborted) return "stopped"
    return second.terminal.type === "completeRun" ? "rehearsed" : "failed"
  } catch {
    return signal.aborted ? "stopped" : "failed"
  }
}
