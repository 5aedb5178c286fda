// The numbers the live view shows, as text: token totals with the cache hit rate, context-window usage, counts.
import type { Usage } from "../../runtime/protocol/usage.ts"
import { compact, duration } from "../text/text-preview.ts"

/** Cached input over input, 0..1 (0 when nothing was sent yet). */
function cacheHitRate(usage: Usage): number {
  return usage.inputTokens === 0 ? 0 : usage.cachedInputTokens / usage.inputTokens
}

/** "Tokens: In 2.9M (Cached 2.1M, Cache Hit 72.69%) · Out 46.2k" */
export function tokenLine(usage: Usage): string {
  const hit = (cacheHitRate(usage) * 100).toFixed(2)
  return `Tokens: In ${compact(usage.inputTokens)} (Cached ${compact(usage.cachedInputTokens)}, Cache Hit ${hit}%) · Out ${compact(usage.outputTokens)}`
}

/** "1 running · 3 waiting · 4m 06s · fireworks" */
export function statusLine(options: {
  running: number
  waiting: number
  elapsedMs: number
  provider?: string
}): string {
  const parts = [`${options.running} running`, `${options.waiting} waiting`, elapsed(options.elapsedMs)]
  if (options.provider) parts.push(options.provider)
  return parts.join(" · ")
}

/** whole seconds, so the clock ticks evenly: "0s", "42s", "4m 06s" */
export function elapsed(ms: number): string {
  return ms < 60_000 ? `${Math.floor(ms / 1000)}s` : duration(ms)
}

/** "◔ 11.2%": a pie filling up as the prompt approaches the context window (empty only below 3%, as the original) */
export function contextFigure(fraction: number): string {
  const pie =
    fraction < 0.03 ? "○" : fraction < 0.375 ? "◔" : fraction < 0.625 ? "◑" : fraction < 0.875 ? "◕" : "●"
  return `${pie} ${(fraction * 100).toFixed(1)}%`
}
