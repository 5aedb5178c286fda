// `perstack gc` against the real engine: only containers whose orchestrator is provably gone, unless --all.
import { spawnSync } from "node:child_process"
import { hostname } from "node:os"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { gcCommand } from "../orchestrator/cli/gc-command.ts"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import {
  docker,
  ensureImages,
  SESSION,
  SESSION_LABEL,
  sessionContainers,
  sweepSession,
} from "./support/docker-session.ts"

beforeAll(() => ensureImages())
afterAll(sweepSession)

const job = `gc-${SESSION.slice(0, 8)}`

/** A pid that was alive a moment ago and is not now. */
const deadPid = () => spawnSync("true").pid ?? 999_999

async function leftover(name: string, owner: Record<string, string>) {
  const container = await docker.createContainer({
    name: `${job}-${name}`,
    Image: "perstack/sandbox:0.1.0-minimal",
    Cmd: ["sleep", "600"],
    Labels: {
      [LABEL.managed]: "0.1.0",
      [LABEL.job]: job,
      [LABEL.run]: name,
      [LABEL.owner]: `owner-of-${name}`,
      [SESSION_LABEL]: SESSION,
      ...owner,
    },
  })
  await container.start()
  return container
}

async function gc(...flags: Array<"all" | "dryRun">) {
  let stdout = ""
  let stderr = ""
  const code = await gcCommand(
    { job, ...Object.fromEntries(flags.map((flag) => [flag, true])) },
    {
      cwd: ".",
      docker,
      stdout: (text) => {
        stdout += text
      },
      stderr: (text) => {
        stderr += text
      },
    },
  )
  return { code, stdout, stderr }
}

const names = async () => (await sessionContainers({ [LABEL.job]: job })).map((info) => info.Names[0]).sort()

describe("perstack gc", () => {
  it("removes the containers whose orchestrator is gone and leaves the others, unless --all", async () => {
    await leftover("dead-pid", { [LABEL.ownerHost]: hostname(), [LABEL.ownerPid]: String(deadPid()) })
    await leftover("gone-container", { [LABEL.ownerContainer]: "f".repeat(64) })
    await leftover("alive", { [LABEL.ownerHost]: hostname(), [LABEL.ownerPid]: String(process.pid) })
    await leftover("elsewhere", { [LABEL.ownerHost]: "another-machine", [LABEL.ownerPid]: "1" })

    const dry = await gc("dryRun")
    expect(dry.stdout).toContain(`would remove ${job}-dead-pid`)
    expect(dry.stdout).toMatch(/its orchestrator \(pid \d+\) is gone/)
    expect(dry.stdout).toContain("its orchestrator's container ffffffffffff is gone")
    expect((await names()).length).toBe(4)

    const first = await gc()
    expect(first.code).toBe(0)
    expect(first.stderr).toContain("2 containers removed; 2 left to orchestrators that are still running")
    expect(await names()).toEqual([`/${job}-alive`, `/${job}-elsewhere`])

    const all = await gc("all")
    expect(all.stdout).toContain(`removed ${job}-alive`)
    expect(await names()).toEqual([])
  })

  it("removes a job's locked-down network once its orchestrator is gone, and leaves a live one's", async () => {
    const network = (name: string, owner: Record<string, string>) =>
      docker.createNetwork({
        Name: `${job}-${name}`,
        Internal: true,
        Labels: {
          [LABEL.managed]: "0.1.0",
          [LABEL.job]: job,
          [LABEL.egress]: `${job}-${name}`,
          [LABEL.owner]: `owner-of-${name}`,
          [SESSION_LABEL]: SESSION,
          ...owner,
        },
      })
    await network("net-dead", { [LABEL.ownerHost]: hostname(), [LABEL.ownerPid]: String(deadPid()) })
    await network("net-alive", { [LABEL.ownerHost]: hostname(), [LABEL.ownerPid]: String(process.pid) })
    const networkNames = async () =>
      (
        await docker.listNetworks({
          filters: { label: [`${SESSION_LABEL}=${SESSION}`, `${LABEL.job}=${job}`] },
        })
      )
        .map((info) => info.Name)
        .sort()

    const first = await gc()
    expect(first.stdout).toMatch(
      new RegExp(`removed network ${job}-net-dead job ${job}: its orchestrator \\(pid \\d+\\) is gone`),
    )
    expect(first.stderr).toContain("1 network removed; 1 left to orchestrators that are still running")
    expect(await networkNames()).toEqual([`${job}-net-alive`])
    await gc("all")
    expect(await networkNames()).toEqual([])
  })

  it("says how to get an engine when none answers", async () => {
    const previous = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    try {
      let stderr = ""
      const code = await gcCommand(
        {},
        {
          cwd: ".",
          stdout: () => {},
          stderr: (text) => {
            stderr += text
          },
        },
      )
      expect(code).toBe(1)
      expect(stderr).toMatch(/^perstack gc: cannot reach the Docker engine at unix:\/\/\/nonexistent/)
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = previous
    }
  })
})
