import { describe, expect, it } from "vitest"
import { StepBudget } from "./step-budget.ts"

describe("StepBudget", () => {
  it("splits what is left among parallel delegates, keeping two steps for the parent", () => {
    const job = new StepBudget(20)
    job.spend(2)
    const shares = job.split(3)
    expect(shares.map((share) => share.available)).toEqual([5, 5, 5])
    for (const share of shares) while (share.available > 0) share.spend()
    // Whatever the children did, the job never goes over: the parent has what they left.
    expect(job.available).toBe(3)
  })

  it("lets unused shares flow back to the parent", () => {
    const job = new StepBudget(10)
    const [a, b] = job.split(2)
    a?.spend(1)
    b?.spend(2)
    expect(job.available).toBe(7)
  })

  it("never hands out more than the parent has, however deep the tree", () => {
    const job = new StepBudget(6)
    const [child] = job.split(1)
    const grandchildren = child?.split(4) ?? []
    for (const grandchild of grandchildren) while (grandchild.available > 0) grandchild.spend()
    expect(job.available).toBeGreaterThanOrEqual(0)
    expect(6 - job.available).toBeLessThanOrEqual(6)
    expect(grandchildren.every((grandchild) => grandchild.available === 0)).toBe(true)
  })
})
