import { describe, expect, it } from "vitest"
import { StepBudget } from "./step-budget.ts"

/** One segment taking every step it was given. */
function runToEnd(budget: StepBudget): number {
  const lease = budget.reserve()
  for (let step = 0; step < lease.steps; step++) lease.spend()
  lease.release()
  return lease.steps
}

describe("StepBudget", () => {
  it("splits what is left among parallel delegates, keeping two steps for the parent", () => {
    const job = new StepBudget(20)
    const first = job.reserve()
    first.spend()
    first.spend()
    first.release()
    const shares = job.split(3)
    expect(shares.map((share) => share.available)).toEqual([5, 5, 5])
    for (const share of shares) runToEnd(share)
    // Whatever the children did, the job never goes over: the parent has what they left.
    expect(job.available).toBe(3)
  })

  it("lets unused shares flow back to the parent", () => {
    const job = new StepBudget(10)
    const [a, b] = job.split(2)
    const leaseA = a?.reserve()
    const leaseB = b?.reserve()
    leaseA?.spend()
    leaseB?.spend()
    leaseB?.spend()
    leaseA?.release()
    leaseB?.release()
    expect(job.available).toBe(7)
  })

  it("never promises one step to two segments that start at the same time", () => {
    const job = new StepBudget(8)
    const lead = job.reserve()
    lead.spend()
    lead.release()
    // 7 left, 2 kept: 5 for twelve delegates, each share one step; four start at once, then four more.
    const shares = job.split(12)
    const wave = (from: number) => shares.slice(from, from + 4).map((share) => share.reserve())
    const first = wave(0)
    expect(first.map((lease) => lease.steps)).toEqual([1, 1, 1, 1])
    for (const lease of first) {
      lease.spend()
      lease.release()
    }
    const second = wave(4)
    expect(second.map((lease) => lease.steps)).toEqual([1, 0, 0, 0])
    for (const lease of second) {
      for (let step = 0; step < lease.steps; step++) lease.spend()
      lease.release()
    }
    // The parent still has the two steps it kept.
    expect(job.available).toBe(2)
  })

  it("gives back what a segment held but did not take", () => {
    const job = new StepBudget(5)
    const lease = job.reserve()
    expect(job.available).toBe(0)
    lease.spend()
    lease.release()
    expect(job.available).toBe(4)
  })

  it("never hands out more than the parent has, however deep the tree", () => {
    const job = new StepBudget(6)
    const [child] = job.split(1)
    const grandchildren = child?.split(4) ?? []
    const taken = grandchildren.map(runToEnd).reduce((sum, steps) => sum + steps, 0)
    expect(taken).toBeLessThanOrEqual(6)
    expect(grandchildren.every((grandchild) => grandchild.available === 0)).toBe(true)
  })
})
