// Runs a segment against a scripted LLM server and collects its events, validating each against the protocol.
import { mkdtemp, realpath, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { createLlmClient } from "../llm/generate.ts"
import { resolveProvider } from "../llm/resolve-provider.ts"
import { runSegment } from "../loop/run-segment.ts"
import type { Checkpoint } from "../protocol/checkpoint.ts"
import { type PerstackEvent, sandboxEventSchema, type TerminalEvent } from "../protocol/events/index.ts"
import { checkpointRecordsOf, HistoryIndex } from "../protocol/history-index.ts"
import type { RunSpec } from "../protocol/run-spec.ts"
import type { McpTimeouts } from "../skills/mcp/mcp-skill.ts"

export interface SegmentResult {
  events: PerstackEvent[]
  terminal: TerminalEvent
  /** the terminal event's checkpoint, whole (its record resolved against the RunSpec's input and the events) */
  checkpoint: Checkpoint
  types: string[]
}

export async function runScriptedSegment(
  spec: RunSpec,
  options: {
    env?: Record<string, string>
    signal?: AbortSignal
    mcpTimeouts?: Partial<McpTimeouts>
    /** the orchestrator's acknowledgement of each stored callTools event */
    acknowledged?: (eventId: string) => Promise<void>
  } = {},
): Promise<SegmentResult> {
  const env = { OPENAI_API_KEY: "sk-test-key-0123456789", ...options.env }
  const llm = createLlmClient({
    provider: resolveProvider({ provider: spec.provider, env }),
    model: spec.model,
    reasoningBudget: spec.reasoningBudget,
    timeoutMs: spec.limits.timeout,
    maxRetries: spec.limits.maxRetries,
    // No jitter: backoff waits a tenth of its ceiling (50 ms for the first retry).
    random: () => 0,
  })
  const events: PerstackEvent[] = []
  const terminal = await runSegment({
    spec,
    llm,
    env,
    signal: options.signal,
    mcpTimeouts: options.mcpTimeouts,
    ...(options.acknowledged ? { acknowledged: options.acknowledged } : {}),
    emit: (event) => {
      // Every event must be valid protocol: the orchestrator would reject it otherwise.
      events.push(sandboxEventSchema.parse(JSON.parse(JSON.stringify(event))))
    },
  })
  return {
    events,
    terminal,
    checkpoint: wholeTerminal(spec, events, terminal),
    types: events.map((event) => event.type),
  }
}

/** What the orchestrator does with the records: each continues the input's stored conversation or an earlier one. */
function wholeTerminal(spec: RunSpec, events: readonly PerstackEvent[], terminal: TerminalEvent): Checkpoint {
  const index = HistoryIndex.forInput(spec.input)
  for (const event of events) for (const record of checkpointRecordsOf(event)) index.add(record)
  return index.whole(terminal.checkpoint)
}

export async function makeWorkspace(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-ws-")))
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

export function eventsOf<T extends PerstackEvent["type"]>(
  result: SegmentResult,
  type: T,
): Extract<PerstackEvent, { type: T }>[] {
  return result.events.filter((event): event is Extract<PerstackEvent, { type: T }> => event.type === type)
}
