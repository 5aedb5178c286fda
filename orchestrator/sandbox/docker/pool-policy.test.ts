// Which runs the docker warm pool may serve, and what of a run's environment a container started ahead of it has.
import { describe, expect, it } from "vitest"
import { DEFAULT_LIMITS } from "../container/resource-limits.ts"
import { poolable, splitEnv, warmPoolSetting } from "./pool-policy.ts"
import type { RunPlan } from "./run-plan.ts"
import { shapeKey } from "./warm-pool.ts"

const plan = (env: Record<string, string>): RunPlan => ({
  image: "perstack/sandbox:0.1.0",
  user: "1000:1000",
  env,
  hostWorkspace: "/ws",
  limits: DEFAULT_LIMITS,
  network: "perstack-egress-job",
})

describe("the docker warm pool's policy", () => {
  it("keeps the run's own variables out of the shape, so runs of one Expert share it whatever their token", () => {
    const first = splitEnv(plan({ PATH: "/bin", OPENAI_API_KEY: "pgw-one", PERSTACK_JOB_ID: "j" }), [
      "OPENAI_API_KEY",
    ])
    const second = splitEnv(plan({ PERSTACK_JOB_ID: "j", OPENAI_API_KEY: "pgw-two", PATH: "/bin" }), [
      "OPENAI_API_KEY",
    ])
    expect(first.runEnv).toEqual({ OPENAI_API_KEY: "pgw-one" })
    expect(JSON.stringify(first.shape)).not.toContain("pgw-")
    expect(shapeKey({ plan: first.shape, labels: {} })).toBe(shapeKey({ plan: second.shape, labels: {} }))
    expect(shapeKey({ plan: first.shape, labels: {} })).not.toBe(
      shapeKey({ plan: { ...first.shape, network: "bridge" }, labels: {} }),
    )
  })

  it("serves no run whose own values it cannot tell apart, nor one holding a proxy token", () => {
    expect(poolable({})).toBe(true)
    expect(poolable({ envIsPerRun: true, perRunEnv: ["OPENAI_API_KEY"] })).toBe(true)
    expect(poolable({ envIsPerRun: true })).toBe(false)
    expect(poolable({ services: { gateway: "http://h:1", proxy: "http://h:2", proxyToken: "t" } })).toBe(
      false,
    )
  })

  it("is bounded by PERSTACK_DOCKER_WARM_POOL: 4 by default, 0 for none, a mistake named", () => {
    expect(warmPoolSetting(undefined)).toBe(4)
    expect(warmPoolSetting("0")).toBe(0)
    expect(() => warmPoolSetting("lots")).toThrow(/PERSTACK_DOCKER_WARM_POOL="lots"/)
  })
})
