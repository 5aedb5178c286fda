// What the orchestrator makes of one run's output before it stores or streams any of it: every secret the job knows
// scrubbed, whatever the path it came by (an event, a rejected line, the sandbox's stderr, an error); and with the
// gateway, the tokens it counted in place of those the sandbox claims.
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { isTerminalEvent } from "../../runtime/protocol/events/terminal.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import type { LlmGateway } from "../gateway/llm-gateway.ts"
import type { IntakeItem } from "../intake/event-intake.ts"
import type { SandboxExit } from "../sandbox/sandbox.ts"
import { RunEventScrubber } from "../secrets/event-scrubber.ts"
import type { SecretScrubber } from "../secrets/secret-scrubber.ts"
import type { JobContext } from "./job-context.ts"

/** The gateway's count of a run's tokens, on top of what its conversation had spent before it. */
interface CountedUsage {
  gateway: LlmGateway
  token: string
  runId: string
  /** the conversation's tokens where this segment started (the checkpoint it resumed from) */
  baseline: Usage
}

const sameUsage = (a: Usage, b: Usage) =>
  a.inputTokens === b.inputTokens &&
  a.outputTokens === b.outputTokens &&
  a.reasoningTokens === b.reasoningTokens &&
  a.totalTokens === b.totalTokens &&
  a.cachedInputTokens === b.cachedInputTokens

export class RunGuard {
  private readonly secrets: SecretScrubber
  private readonly events: RunEventScrubber
  private readonly counted: CountedUsage | undefined

  constructor(options: { secrets: SecretScrubber; counted?: CountedUsage }) {
    this.secrets = options.secrets
    this.events = new RunEventScrubber(options.secrets)
    this.counted = options.counted
  }

  /** An item of the sandbox's stdout, as it is to be stored, streamed and acted on. */
  item(item: IntakeItem): IntakeItem {
    if (item.kind === "rejected") {
      const sample = this.events.sample(item.sample)
      const issues = item.issues === undefined ? undefined : this.secrets.scrub(item.issues)
      return sample === item.sample && issues === item.issues
        ? item
        : { ...item, sample, ...(issues === undefined ? {} : { issues }) }
    }
    const clean = this.events.line(item.event, item.text) ?? { event: item.event, text: item.text }
    const stamped = this.stamp(clean.event)
    if (stamped) return { ...item, event: stamped, text: JSON.stringify(stamped) }
    return clean.event === item.event ? item : { ...item, ...clean }
  }

  /** An event the orchestrator writes for the run (a crash's terminal event among them). */
  event<E extends PerstackEvent>(event: E): E {
    const clean = this.events.event(event)
    return this.stamp(clean) ?? clean
  }

  /**
   * The sandbox has ended: its gateway token goes (which ends and counts its requests still in flight), and the
   * end of its stderr, which may cut a secret at either edge, is scrubbed.
   */
  exit(exit: SandboxExit): SandboxExit {
    if (this.counted) this.counted.gateway.revokeToken(this.counted.token)
    const stderrTail = this.secrets.scrubFragment(exit.stderrTail, { start: true, end: true })
    return stderrTail === exit.stderrTail ? exit : { ...exit, stderrTail }
  }

  /** A message built from what the sandbox (or its backend) said. */
  text(text: string): string {
    return this.secrets.scrub(text)
  }

  /** The conversation's tokens for run.json: the gateway's count where it counts, else what the run reported. */
  usage(reported: Usage): Usage {
    return this.counted ? this.trusted(this.counted) : reported
  }

  private trusted(counted: CountedUsage): Usage {
    return addUsage(counted.baseline, counted.gateway.runUsage(counted.runId))
  }

  /** The event with the gateway's count on its checkpoints, or undefined when they say as much already. */
  private stamp<E extends PerstackEvent>(event: E): E | undefined {
    if (!this.counted) return undefined
    if (event.type !== "continueToNextStep" && !isTerminalEvent(event)) return undefined
    const usage = this.trusted(this.counted)
    const next = event.type === "continueToNextStep" ? event.nextCheckpoint : undefined
    if (sameUsage(event.checkpoint.usage, usage) && (!next || sameUsage(next.usage, usage))) return undefined
    return {
      ...event,
      checkpoint: { ...event.checkpoint, usage },
      ...(next ? { nextCheckpoint: { ...next, usage } } : {}),
    }
  }
}

/**
 * The guard of a run about to start. With the gateway, its tokens start from those of the checkpoint it resumed
 * from (a crashed run's own record, for a retry: its count includes the generation it died in).
 */
export async function runGuardFor(
  job: JobContext,
  spec: RunSpec,
  resumedFrom: string | undefined,
  gatewayToken: string | undefined,
): Promise<RunGuard> {
  const { gateway, secrets, store } = job.options
  if (!gateway || gatewayToken === undefined) return new RunGuard({ secrets })
  const input = spec.input.type === "query" ? undefined : spec.input.checkpoint
  const start =
    resumedFrom === undefined
      ? undefined
      : input?.id === resumedFrom
        ? input
        : await store.readCheckpoint(spec.jobId, resumedFrom).catch(() => undefined)
  const baseline = start?.usage ?? input?.usage ?? emptyUsage()
  return new RunGuard({ secrets, counted: { gateway, token: gatewayToken, runId: spec.runId, baseline } })
}
