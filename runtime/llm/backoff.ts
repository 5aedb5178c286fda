// Exponential backoff with full jitter, honouring a provider's Retry-After when it gives one.

export interface BackoffPolicy {
  baseMs: number
  capMs: number
  /** upper bound on a Retry-After we are willing to wait */
  maxRetryAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000, maxRetryAfterMs: 120_000 }

/** Delay before retry number `attempt` (1-based). `random` returns [0, 1). */
export function backoffDelay(options: {
  attempt: number
  retryAfterMs?: number
  policy?: BackoffPolicy
  random?: () => number
}): number {
  const policy = options.policy ?? DEFAULT_BACKOFF
  if (options.retryAfterMs !== undefined) return Math.min(options.retryAfterMs, policy.maxRetryAfterMs)
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (options.attempt - 1))
  const random = options.random ?? Math.random
  // Full jitter keeps parallel runs from retrying in lockstep; never below a tenth of the ceiling.
  return Math.round(ceiling * (0.1 + 0.9 * random()))
}

/** Resolves after `ms`, or rejects when the signal aborts. (Not unref'd: a run waiting out a 429 must stay alive.) */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener("abort", onAbort, { once: true })
  })
}
