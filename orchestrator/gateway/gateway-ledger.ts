// The gateway's books: which token is whose run (and model), what each run and the whole job has spent, whether
// the job's budget is spent, and how to end a token's requests still in flight when it is revoked.
import { randomBytes } from "node:crypto"
import type { TokenBudget } from "../../runtime/protocol/config/perstack-toml.ts"
import { addUsage, emptyUsage, type Usage } from "../../runtime/protocol/usage.ts"
import { budgetSpent } from "./token-budget.ts"

export interface Grant {
  runId: string
  model?: string
}

export class GatewayLedger {
  /** the whole job's tokens (including what it had spent before this process) */
  usage: Usage
  /** set once the job's budget is spent */
  budgetError: string | undefined
  private readonly budget: TokenBudget | undefined
  private readonly grants = new Map<string, Grant>()
  private readonly perRun = new Map<string, Usage>()
  /** per token, how to end each of its requests in flight (counting what they had spent) */
  private readonly inFlight = new Map<string, Set<() => void>>()

  constructor(budget: TokenBudget | undefined, initialUsage: Usage | undefined) {
    this.budget = budget
    this.usage = initialUsage ?? emptyUsage()
    this.budgetError = budgetSpent(budget, this.usage)
  }

  issue(grant: Grant): string {
    const token = `pgw-${randomBytes(32).toString("base64url")}`
    this.grants.set(token, grant)
    return token
  }

  grant(token: string | undefined): Grant | undefined {
    return token === undefined ? undefined : this.grants.get(token)
  }

  /** Its sandbox has ended: what its requests still in flight had spent is counted now. */
  revoke(token: string): void {
    this.grants.delete(token)
    for (const end of [...(this.inFlight.get(token) ?? [])]) end()
    this.inFlight.delete(token)
  }

  revokeAll(): void {
    this.grants.clear()
  }

  /** Keeps how to end a request of `token`'s; returns how to forget it once it has ended by itself. */
  track(token: string, end: () => void): () => void {
    const ends = this.inFlight.get(token) ?? new Set()
    this.inFlight.set(token, ends)
    ends.add(end)
    return () => ends.delete(end)
  }

  record(runId: string, spent: Usage): void {
    this.perRun.set(runId, addUsage(this.perRun.get(runId) ?? emptyUsage(), spent))
    this.usage = addUsage(this.usage, spent)
    this.budgetError ??= budgetSpent(this.budget, this.usage)
  }

  runUsage(runId: string): Usage {
    return this.perRun.get(runId) ?? emptyUsage()
  }
}
