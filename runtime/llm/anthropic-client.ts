// The anthropic provider over its own Messages API (@anthropic-ai/sdk, loaded only when this provider is used): prompt
// caching, and extended thinking whose signed blocks go back verbatim, neither of which the OpenAI-compatible
// endpoint keeps.
import type { MessageCreateParamsStreaming } from "@anthropic-ai/sdk/resources/messages/messages"
import { toAnthropicPrompt } from "./anthropic-messages.ts"
import { readAnthropicStream } from "./anthropic-stream.ts"
import { backoffDelay, sleep } from "./backoff.ts"
import type { LlmClient, LlmClientOptions } from "./generate.ts"
import { nodeFetch } from "./node-fetch.ts"
import { codeForStatus, ProviderError, redact, retryAfterMs, toProviderError } from "./provider-error.ts"
import { reasoningTokens } from "./reasoning.ts"
import { anthropicRoot } from "./resolve-provider.ts"

type Sdk = typeof import("@anthropic-ai/sdk")

/** The most a model may write in one answer (Anthropic wants max_tokens on every request). */
export function maxOutputTokens(model: string): number {
  const id = model.toLowerCase()
  if (/claude-opus-4/.test(id)) return 32_000
  if (/claude-(sonnet|haiku)-4|claude-3-7-sonnet/.test(id)) return 64_000
  return 8_192
}

/** Anthropic's minimum thinking budget; the budget must also stay below max_tokens. */
const MIN_THINKING_TOKENS = 1024

function thinkingBudget(model: string, tokens: number): number | undefined {
  if (tokens === 0) return undefined
  return Math.min(Math.max(MIN_THINKING_TOKENS, tokens), maxOutputTokens(model) - MIN_THINKING_TOKENS)
}

function anthropicProviderError(
  sdk: Sdk,
  error: unknown,
  context: { timedOut: boolean; timeoutMs: number; secrets: readonly string[] },
): ProviderError {
  if (context.timedOut || error instanceof ProviderError) return toProviderError(error, context)
  const clean = (message: string) => redact(message, context.secrets)
  if (error instanceof sdk.APIUserAbortError)
    return new ProviderError({
      code: "provider.cancelled",
      message: "the generation was cancelled",
      cause: error,
    })
  if (error instanceof sdk.APIConnectionTimeoutError)
    return new ProviderError({ code: "provider.timeout", message: clean(error.message), cause: error })
  if (error instanceof sdk.APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
    return new ProviderError({
      code: "provider.connection",
      message: clean(`${error.message}${cause}`),
      cause: error,
    })
  }
  if (error instanceof sdk.APIError && typeof error.status === "number") {
    // The orchestrator's gateway refusing a job whose token budget is spent: not the provider's doing.
    const body = error.error as { error?: { code?: unknown } } | undefined
    const budget = error.status === 402 && body?.error?.code === "budget.exceeded"
    return new ProviderError({
      // 529 (overloaded) is a server error like any 5xx: retried.
      code: budget ? "budget.exceeded" : codeForStatus(error.status),
      message: clean(error.message),
      statusCode: error.status,
      retryAfterMs: retryAfterMs(error.headers),
      cause: error,
    })
  }
  return toProviderError(error, context)
}

export function createAnthropicClient(options: LlmClientOptions): LlmClient {
  const { provider, model } = options
  let client: Promise<{ sdk: Sdk; anthropic: InstanceType<Sdk["default"]> }> | undefined
  const connect = () => {
    client ??= import("@anthropic-ai/sdk").then((sdk) => ({
      sdk,
      anthropic: new sdk.default({
        apiKey: provider.apiKey,
        authToken: null,
        baseURL: anthropicRoot(provider.baseUrl),
        defaultHeaders: provider.headers,
        // Retries are ours, as on the OpenAI path: Retry-After honoured, each attempt reported, one budget.
        maxRetries: 0,
        // Our AbortSignal times each attempt; the SDK's own timer must never fire first.
        timeout: options.timeoutMs * 2,
        fetch: (options.fetch ?? nodeFetch) as unknown as typeof fetch,
        // In a sandbox stdout is the protocol.
        logLevel: "off",
      }),
    }))
    return client
  }
  let thinking = thinkingBudget(model, reasoningTokens(options.reasoningBudget))

  return {
    async generate({ messages, tools, signal, observer }) {
      const { sdk, anthropic } = await connect()
      const prompt = toAnthropicPrompt(messages, tools)
      for (let attempt = 1; ; attempt++) {
        const timeout = AbortSignal.timeout(options.timeoutMs)
        const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout
        try {
          const params: MessageCreateParamsStreaming = {
            model,
            max_tokens: maxOutputTokens(model),
            stream: true,
            messages: prompt.messages,
            ...(prompt.system.length > 0 ? { system: prompt.system } : {}),
            ...(prompt.tools.length > 0
              ? { tools: prompt.tools, tool_choice: { type: "auto" as const } }
              : {}),
            ...(thinking !== undefined && !prompt.unsignedToolTurn
              ? { thinking: { type: "enabled" as const, budget_tokens: thinking } }
              : {}),
          }
          return await readAnthropicStream(
            await anthropic.messages.create(params, { signal: attemptSignal }),
            observer,
          )
        } catch (caught) {
          const secrets = [provider.apiKey]
          if (signal?.aborted)
            throw anthropicProviderError(sdk, signal.reason ?? caught, {
              timedOut: false,
              timeoutMs: 0,
              secrets,
            })
          const error = anthropicProviderError(sdk, caught, {
            timedOut: timeout.aborted,
            timeoutMs: options.timeoutMs,
            secrets,
          })
          // A model without extended thinking: drop it once and try again at once.
          if (
            error.statusCode === 400 &&
            thinking !== undefined &&
            /does not support thinking|thinking[^.]*not (supported|permitted)/i.test(error.message)
          ) {
            thinking = undefined
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
