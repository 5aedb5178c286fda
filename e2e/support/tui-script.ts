// Test support: a scripted LLM that answers each Expert from its own queue, where a reply may wait (a gate the
// test opens), so a screen can be checked while a run is in a known state.

import { expertOf } from "../../orchestrator/testing/expert-script.ts"
import {
  type RecordedRequest,
  type ScriptedLlmServer,
  type ScriptedReply,
  startScriptedLlmServer,
} from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export type GatedReply =
  | ScriptedReply
  | ((request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>)

export async function startGatedScript(replies: Record<string, GatedReply[]>): Promise<ScriptedLlmServer> {
  const queues = new Map(Object.entries(replies).map(([expert, list]) => [expert, [...list]]))
  const route = (request: RecordedRequest): ScriptedReply | Promise<ScriptedReply> => {
    const expert = expertOf(request)
    const next = queues.get(expert)?.shift()
    if (!next) return { type: "error", status: 500, message: `no scripted reply left for Expert "${expert}"` }
    return typeof next === "function" ? next(request) : next
  }
  const total = [...queues.values()].reduce((sum, list) => sum + list.length, 0)
  return startScriptedLlmServer({ steps: Array.from({ length: total + 20 }, () => route) })
}

/** A promise the test resolves when it wants the waiting reply to go. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}
