import type Docker from "dockerode"
import { describe, expect, it } from "vitest"
import { LABEL } from "./labels.ts"
import { orphanReason } from "./orphans.ts"

const now = 1_800_000_000_000
const info = (labels: Record<string, string>, state = "running", ageS = 5) =>
  ({ Labels: labels, State: state, Created: now / 1000 - ageS }) as unknown as Docker.ContainerInfo
const context = {
  runningContainers: new Set(["c-alive"]),
  host: "this-host",
  now,
  alive: (pid: number) => pid === 42,
}

describe("orphanReason", () => {
  it("knows a container whose orchestrator's process on this host is gone", () => {
    expect(orphanReason(info({ [LABEL.ownerHost]: "this-host", [LABEL.ownerPid]: "7" }), context)).toBe(
      "its orchestrator (pid 7) is gone",
    )
    expect(
      orphanReason(info({ [LABEL.ownerHost]: "this-host", [LABEL.ownerPid]: "42" }), context),
    ).toBeUndefined()
  })

  it("judges an orchestrator that ran in a container by that container, wherever its pid was", () => {
    const labels = { [LABEL.ownerHost]: "this-host", [LABEL.ownerPid]: "42" }
    expect(orphanReason(info({ ...labels, [LABEL.ownerContainer]: "c-gone" }), context)).toBe(
      "its orchestrator's container c-gone is gone",
    )
    expect(orphanReason(info({ ...labels, [LABEL.ownerContainer]: "c-alive" }), context)).toBeUndefined()
  })

  it("leaves a running container of an unknown owner (another host) alone, but not an ended one nobody removed", () => {
    const elsewhere = { [LABEL.ownerHost]: "other-host", [LABEL.ownerPid]: "7" }
    expect(orphanReason(info(elsewhere), context)).toBeUndefined()
    expect(orphanReason(info(elsewhere, "exited", 5), context)).toBeUndefined()
    expect(orphanReason(info(elsewhere, "exited", 3600), context)).toBe("it is exited and nobody removed it")
  })
})
