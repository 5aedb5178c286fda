// The chaos suite's team and its scripted LLM: replies follow from the conversation so far, never from the order
// of requests, so a step retried after a crash gets the same answer. Tools count their runs in count.txt.

import { type ExpertScriptServer, startExpertScript } from "../../orchestrator/testing/expert-script.ts"
import { configText } from "../../orchestrator/testing/job-harness.ts"
import type {
  RecordedRequest,
  ScriptedReply,
} from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export const CHAOS_TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`
export const FINAL_TEXT = "Finished: worker done"
export const CALL_IDS = ["a", "b", "c"] as const

const counted = (id: string, seconds: number) => ({
  id,
  name: "exec",
  arguments: { command: "bash", args: ["-c", `echo ${id} >> count.txt; sleep ${seconds}`] },
})

function toolResults(request: RecordedRequest): Map<string, string> {
  const messages = (
    request.body as { messages: Array<{ role: string; tool_call_id?: string; content: unknown }> }
  ).messages
  return new Map(
    messages
      .filter((message) => message.role === "tool")
      .map((message) => [message.tool_call_id ?? "", String(message.content)]),
  )
}

function worker(request: RecordedRequest): ScriptedReply {
  const results = toolResults(request)
  if (!results.has("a") || !results.has("b")) return { toolCalls: [counted("a", 0.05), counted("b", 0.3)] }
  if (!results.has("c")) return { toolCalls: [counted("c", 0.2)] }
  return { text: "worker done" }
}

function lead(request: RecordedRequest): ScriptedReply {
  const delegated = toolResults(request).get("w")
  if (delegated === undefined)
    return { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] }
  return { text: `Finished: ${delegated}` }
}

export async function startChaosLlm(): Promise<ExpertScriptServer> {
  // Plenty of replies: every retry asks again.
  return startExpertScript({
    lead: Array.from({ length: 50 }, () => lead),
    worker: Array.from({ length: 50 }, () => worker),
  })
}

export const chaosConfig = (llmUrl: string) => configText(llmUrl, CHAOS_TEAM)

/** mulberry32: a small seeded PRNG, so a failing iteration can be replayed with the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
