// One streamed generation against an OpenAI-compatible server (or Anthropic's own API), with timeout and retries.
import OpenAI from "openai"
import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions"
import type { ReasoningBudget } from "../protocol/config/provider.ts"
import type { Message } from "../protocol/message.ts"
import { emptyUsage, type Usage } from "../protocol/usage.ts"
import { createAnthropicClient } from "./anthropic-client.ts"
import { backoffDelay, sleep } from "./backoff.ts"
import { toChatMessages } from "./chat-messages.ts"
import { nodeFetch } from "./node-fetch.ts"
import { ProviderError, toProviderError } from "./provider-error.ts"
import { reasoningParams } from "./reasoning.ts"
import { type ResolvedProvider, requestTarget } from "./resolve-provider.ts"

export interface LlmTool {
  name: string
  description: string
  parameters: Record<string, unknown>
}

export interface GeneratedToolCall {
  id: string
  name: string
  /** as the model sent it: may be invalid JSON */
  arguments: string
}

/** One thinking block as the provider sent it, to be sent back verbatim (Anthropic's are signed). */
export interface GeneratedThinking {
  thinking: string
  signature?: string
  /** a redacted_thinking block's opaque data */
  redactedData?: string
}

export interface Generation {
  text: string
  reasoning: string
  /** the thinking blocks, when the provider signs them (Anthropic); else the reasoning is text only */
  thinking?: GeneratedThinking[]
  toolCalls: GeneratedToolCall[]
  finishReason: string
  usage: Usage
}

export interface GenerationObserver {
  onReasoningDelta?(delta: string): void
  onTextDelta?(delta: string): void
  /** a retryable failure; the next attempt starts after `delayMs` */
  onRetry?(info: { attempt: number; delayMs: number; error: ProviderError }): void
}

export interface LlmClient {
  generate(options: {
    messages: readonly Message[]
    tools: readonly LlmTool[]
    signal?: AbortSignal
    observer?: GenerationObserver
  }): Promise<Generation>
}

export interface LlmClientOptions {
  provider: ResolvedProvider
  model: string
  reasoningBudget: ReasoningBudget
  /** per attempt, in ms */
  timeoutMs: number
  maxRetries: number
  random?: () => number
  /** the transport (default: nodeFetch); a warm sandbox's rehearsal plays its model's replies through its own */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
}

export function createLlmClient(options: LlmClientOptions): LlmClient {
  // Anthropic's OpenAI-compatible endpoint drops cache_control and signed thinking: its own API keeps both.
  if (options.provider.providerName === "anthropic") return createAnthropicClient(options)
  const { provider } = options
  const target = requestTarget(provider, options.model)
  const client = new OpenAI({
    apiKey: provider.apiKey,
    baseURL: target.baseUrl,
    defaultQuery: target.query,
    organization: provider.organization ?? null,
    project: provider.project ?? null,
    // Azure takes its key in `api-key`; a Bearer header beside it would be read as an Entra ID token.
    defaultHeaders: provider.azure
      ? { ...provider.headers, "api-key": provider.apiKey, authorization: null }
      : provider.headers,
    // Retries are ours: they honour Retry-After, report each attempt, and share one budget.
    maxRetries: 0,
    // Our AbortSignal times each attempt; the SDK's own timer must never fire first (it ends a stream silently).
    timeout: options.timeoutMs * 2,
    // See node-fetch.ts: no WebAssembly HTTP parser in the sandbox.
    fetch: (options.fetch ?? nodeFetch) as unknown as typeof fetch,
    // The SDK logs through console; in a sandbox stdout is the protocol, and our errors say it all anyway.
    logLevel: "off",
  })
  let reasoning = reasoningParams(provider.reasoning, options.reasoningBudget)

  return {
    async generate({ messages, tools, signal, observer }) {
      const chatMessages = toChatMessages(messages)
      for (let attempt = 1; ; attempt++) {
        const timeout = AbortSignal.timeout(options.timeoutMs)
        const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout
        try {
          const params: ChatCompletionCreateParamsStreaming = {
            model: options.model,
            messages: chatMessages,
            stream: true,
            stream_options: { include_usage: true },
            ...(tools.length > 0
              ? {
                  tools: tools.map((tool) => ({
                    type: "function" as const,
                    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
                  })),
                  tool_choice: "auto" as const,
                }
              : {}),
            ...reasoning,
          }
          return await readStream(
            await client.chat.completions.create(params, { signal: attemptSignal }),
            observer,
          )
        } catch (caught) {
          if (signal?.aborted)
            throw toProviderError(signal.reason ?? caught, {
              timedOut: false,
              timeoutMs: 0,
              secrets: [provider.apiKey],
            })
          const error = toProviderError(caught, {
            timedOut: timeout.aborted,
            timeoutMs: options.timeoutMs,
            secrets: [provider.apiKey],
          })
          // A model that takes no reasoning setting: drop it once and try again at once.
          if (
            error.statusCode === 400 &&
            Object.keys(reasoning).length > 0 &&
            /reason|think/i.test(error.message)
          ) {
            reasoning = {}
            attempt--
            continue
          }
          if (!error.isRetryable || attempt > options.maxRetries) throw error
          const delayMs = backoffDelay({ attempt, retryAfterMs: error.retryAfterMs, random: options.random })
          observer?.onRetry?.({ attempt, delayMs, error })
          await sleep(delayMs, signal)
        }
      }
    },
  }
}

interface StreamChunk {
  choices: Array<{
    delta?: {
      content?: string | null
      reasoning_content?: string | null
      reasoning?: string | null
      tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>
    }
    finish_reason?: string | null
  }>
  usage?: {
    prompt_tokens?: number
    completion_tokens?: number
    total_tokens?: number
    prompt_tokens_details?: { cached_tokens?: number } | null
    completion_tokens_details?: { reasoning_tokens?: number } | null
  } | null
}

async function readStream(
  stream: AsyncIterable<unknown>,
  observer?: GenerationObserver,
): Promise<Generation> {
  let text = ""
  let reasoning = ""
  let finishReason: string | undefined
  let usage = emptyUsage()
  const calls = new Map<number, GeneratedToolCall>()
  for await (const raw of stream) {
    const chunk = raw as StreamChunk
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta
      const thought = delta?.reasoning_content ?? delta?.reasoning
      if (thought) {
        reasoning += thought
        observer?.onReasoningDelta?.(thought)
      }
      if (delta?.content) {
        text += delta.content
        observer?.onTextDelta?.(delta.content)
      }
      for (const piece of delta?.tool_calls ?? []) {
        const call = calls.get(piece.index) ?? { id: "", name: "", arguments: "" }
        if (piece.id) call.id = piece.id
        if (piece.function?.name) call.name += piece.function.name
        if (piece.function?.arguments) call.arguments += piece.function.arguments
        calls.set(piece.index, call)
      }
      if (choice.finish_reason) finishReason = choice.finish_reason
    }
    if (chunk.usage) usage = toUsage(chunk.usage)
  }
  if (finishReason === undefined) {
    throw new ProviderError({
      code: "provider.badResponse",
      message: "the provider's stream ended before the response finished",
    })
  }
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call)
  return { text, reasoning, toolCalls, finishReason, usage }
}

function toUsage(usage: NonNullable<StreamChunk["usage"]>): Usage {
  const inputTokens = usage.prompt_tokens ?? 0
  const outputTokens = usage.completion_tokens ?? 0
  return {
    inputTokens,
    outputTokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    totalTokens: usage.total_tokens ?? inputTokens + outputTokens,
    cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  }
}
