// What one forwarded request spent: the usage its provider reported, counted as soon as it goes by, else (nothing
// reported, a stream cut short) an estimate from the bytes the gateway forwarded.
import { emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import { UsageTap } from "./usage-tap.ts"

/** The estimate where a provider reports nothing: a token is about four bytes of text (prompt, or generated). */
export const BYTES_PER_TOKEN = 4

export function estimateUsage(promptBytes: number, generatedBytes: number): Usage {
  const inputTokens = Math.ceil(promptBytes / BYTES_PER_TOKEN)
  const outputTokens = Math.ceil(generatedBytes / BYTES_PER_TOKEN)
  return { ...emptyUsage(), inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
}

const KEYS = ["inputTokens", "outputTokens", "reasoningTokens", "totalTokens", "cachedInputTokens"] as const

function larger(a: Usage, b: Usage): Usage {
  const out = emptyUsage()
  for (const key of KEYS) out[key] = Math.max(a[key], b[key])
  return out
}

export class RequestMeter {
  private readonly promptBytes: number
  private readonly onSpent: (usage: Usage) => void
  private tap: UsageTap | undefined
  private counted = emptyUsage()
  private done = false

  /** `onSpent` hears each addition to what the request spent (a usage to add to the run's and the job's). */
  constructor(options: { promptBytes: number; onSpent: (usage: Usage) => void }) {
    this.promptBytes = options.promptBytes
    this.onSpent = options.onSpent
  }

  /** The provider answered with a generation (a 2xx chat completion): its body is to be read as it passes. */
  answered(contentType: string | undefined): void {
    this.tap = new UsageTap(contentType)
  }

  /** The provider refused (an error status): nothing was generated, nothing is counted. */
  refused(): void {
    this.done = true
  }

  write(chunk: Buffer): void {
    if (this.done || !this.tap) return
    const before = this.tap.usage
    this.tap.write(chunk)
    // Counted as it goes by, before the sandbox has it: the event reporting the step cannot come first.
    if (this.tap.usage !== before && this.tap.usage) this.countUpTo(this.tap.usage)
  }

  /**
   * The request is over: `complete` when the answer ended as it should. What the provider reported stands then;
   * without a report, or cut short, the estimate counts where it is larger.
   */
  finish(complete: boolean): void {
    if (this.done) return
    this.done = true
    this.tap?.end()
    const reported = this.tap?.usage
    const estimate = estimateUsage(this.promptBytes, this.tap?.generatedBytes ?? 0)
    this.countUpTo(reported && complete ? reported : larger(reported ?? emptyUsage(), estimate))
  }

  private countUpTo(total: Usage): void {
    const added = emptyUsage()
    let any = false
    for (const key of KEYS) {
      added[key] = Math.max(0, total[key] - this.counted[key])
      if (added[key] > 0) any = true
    }
    if (!any) return
    this.counted = larger(this.counted, total)
    this.onSpent(added)
  }
}
