// Test support: one scripted LLM server answering several Experts, each from its own queue of replies.
// Parallel delegates reach the server in any order; each request is routed by the Expert named in its system prompt.
import {
  type RecordedRequest,
  type ScriptedLlmServer,
  type ScriptedReply,
  startScriptedLlmServer,
} from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

export type ExpertReplies = Record<
  string,
  Array<ScriptedReply | ((request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>)>
>

export function expertOf(request: RecordedRequest): string {
  const messages = (request.body as { messages?: Array<{ role: string; content: unknown }> }).messages ?? []
  const system = messages.find((message) => message.role === "system")
  const match = /^You are "([^"]+)"/.exec(String(system?.content ?? ""))
  return match?.[1] ?? "(unknown)"
}

/** The last user or tool message the model was sent, as text (what a delegate was asked, or what came back). */
export function lastInput(request: RecordedRequest): string {
  const messages = (request.body as { messages?: Array<{ role: string; content: unknown }> }).messages ?? []
  const last = messages.findLast((message) => message.role === "user" || message.role === "tool")
  if (typeof last?.content === "string") return last.content
  const parts = Array.isArray(last?.content) ? (last.content as Array<{ type: string; text?: string }>) : []
  return parts.map((part) => part.text ?? "").join("")
}

export interface ExpertScriptServer extends ScriptedLlmServer {
  /** requests received per Expert, in order */
  byExpert(expertKey: string): RecordedRequest[]
  /** replies not yet used, per Expert */
  unused(): Record<string, number>
}

export async function startExpertScript(
  replies: ExpertReplies,
  /**
   * host: where to listen (default 127.0.0.1; containers without the gateway need 0.0.0.0 or the bridge's address);
   * apiKey: the key a request must carry, else 401; reportsUsage: false plays a provider that reports no usage
   */
  options: { host?: string; apiKey?: string; reportsUsage?: boolean } = {},
): Promise<ExpertScriptServer> {
  const queues = new Map(Object.entries(replies).map(([expert, list]) => [expert, [...list]]))
  const route = (request: RecordedRequest): ScriptedReply | Promise<ScriptedReply> => {
    const expert = expertOf(request)
    const next = queues.get(expert)?.shift()
    if (!next) return { type: "error", status: 500, message: `no scripted reply left for Expert "${expert}"` }
    return typeof next === "function" ? next(request) : next
  }
  const total = [...queues.values()].reduce((sum, list) => sum + list.length, 0)
  // One routing step per expected request, plus spares so an extra request fails loudly instead of hanging.
  const server = await startScriptedLlmServer({
    steps: Array.from({ length: total + 20 }, () => route),
    ...(options.host ? { host: options.host } : {}),
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    ...(options.reportsUsage !== undefined ? { reportsUsage: options.reportsUsage } : {}),
  })
  return Object.assign(server, {
    byExpert: (expertKey: string) => server.requests.filter((request) => expertOf(request) === expertKey),
    unused: () => Object.fromEntries([...queues.entries()].map(([expert, list]) => [expert, list.length])),
  })
}
