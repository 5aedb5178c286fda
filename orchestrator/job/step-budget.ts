// Step budgets that hold across parallel delegates: each conversation spends from its own share, and every
// step also counts against every ancestor's. Shares are carved out of what the parent has left, and a segment
// holds its steps from the moment its sandbox starts, so the sum can never exceed the job's maxSteps however
// many delegates run at once (the original let each parallel child use the whole remaining budget).

/** Steps a parent keeps for itself when it fans out: fold the results in, then answer. */
const KEPT_FOR_PARENT = 2

/** The steps one segment was given when its sandbox started: held from its budget and every ancestor's. */
export interface StepLease {
  /** how many steps the segment may take (its RunSpec's stepBudget) */
  readonly steps: number
  /** a step finished: it counts as used, here and above */
  spend(): void
  /** the segment ended: what it did not take goes back */
  release(): void
}

export class StepBudget {
  private used = 0
  /** steps held by segments running now, not yet taken */
  private held = 0
  private readonly limit: number
  private readonly parent: StepBudget | undefined

  constructor(limit: number, parent?: StepBudget) {
    this.limit = limit
    this.parent = parent
  }

  /** Steps this conversation may still give a segment that starts now. */
  get available(): number {
    const own = this.limit - this.used - this.held
    return Math.max(0, this.parent ? Math.min(own, this.parent.available) : own)
  }

  /**
   * Holds everything available for one segment about to start. Two siblings starting at once cannot both be
   * promised the last step: the first one's hold is gone from the common ancestors before the second asks.
   */
  reserve(): StepLease {
    const steps = this.available
    this.hold(steps)
    let left = steps
    return {
      steps,
      spend: () => {
        // A runtime that takes more than it was given still has each step counted; it holds nothing more.
        if (left > 0) {
          left--
          this.hold(-1)
        }
        this.use(1)
      },
      release: () => {
        this.hold(-left)
        left = 0
      },
    }
  }

  /** The shares of `count` delegates started together (each at least one step when any is left). */
  split(count: number): StepBudget[] {
    const available = this.available
    const kept = available > KEPT_FOR_PARENT * 2 ? KEPT_FOR_PARENT : 0
    // The delegates together never reach into what the parent keeps, whatever their shares add up to.
    const pool = new StepBudget(available - kept, this)
    const share = Math.max(available > 0 ? 1 : 0, Math.floor((available - kept) / Math.max(1, count)))
    return Array.from({ length: count }, () => new StepBudget(share, pool))
  }

  private hold(steps: number): void {
    this.held += steps
    this.parent?.hold(steps)
  }

  private use(steps: number): void {
    this.used += steps
    this.parent?.use(steps)
  }
}
