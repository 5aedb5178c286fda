// Step budgets that hold across parallel delegates: each conversation spends from its own share, and every
// step also counts against every ancestor's. Shares are carved out of what the parent has left, so the sum can
// never exceed the job's maxSteps (the original let each parallel child use the whole remaining budget).

/** Steps a parent keeps for itself when it fans out: fold the results in, then answer. */
const KEPT_FOR_PARENT = 2

export class StepBudget {
  private used = 0
  private readonly limit: number
  private readonly parent: StepBudget | undefined

  constructor(limit: number, parent?: StepBudget) {
    this.limit = limit
    this.parent = parent
  }

  /** Steps this conversation may still take. */
  get available(): number {
    const own = this.limit - this.used
    return Math.max(0, this.parent ? Math.min(own, this.parent.available) : own)
  }

  spend(steps = 1): void {
    this.used += steps
    this.parent?.spend(steps)
  }

  /** The shares of `count` delegates started together (each at least one step when any is left). */
  split(count: number): StepBudget[] {
    const available = this.available
    const pool = available > KEPT_FOR_PARENT * 2 ? available - KEPT_FOR_PARENT : available
    const share = Math.max(available > 0 ? 1 : 0, Math.floor(pool / Math.max(1, count)))
    return Array.from({ length: count }, () => new StepBudget(share, this))
  }
}
