// The docker backend against the real engine: what the contract does not cover (hardening, labels, ownership,
// limits, timeouts, clean-up, and the failures a user can fix).
import { spawn } from "node:child_process"
import { stat } from "node:fs/promises"
import path from "node:path"
import type Docker from "dockerode"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createDockerBackend } from "../orchestrator/sandbox/docker/docker-backend.ts"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import type { SandboxSettings } from "../runtime/protocol/config/expert.ts"
import { type SandboxEvent, sandboxEventSchema } from "../runtime/protocol/events/index.ts"
import { buildRunSpec } from "../runtime/testing/run-spec-builder.ts"
import {
  type ScriptedStep,
  startScriptedLlmServer,
} from "../runtime/testing/scripted-llm/scripted-llm-server.ts"
import {
  docker,
  dockerBackend,
  ensureImages,
  eventuallyNone,
  loopbackUrl,
  SESSION,
  SESSION_LABEL,
  sessionContainers,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"
import { buildFixtureImage, removeFixtureImage } from "./support/fixture-image.ts"

beforeAll(() => ensureImages())
afterAll(sweepSession)

let runs = 0

async function startRun(
  steps: ScriptedStep[],
  options: {
    settings?: SandboxSettings
    backend?: ReturnType<typeof dockerBackend>
    parentRunId?: string
  } = {},
) {
  const ws = await userWorkspace()
  const llm = await startScriptedLlmServer({ steps, host: "0.0.0.0" })
  const runId = `run-${SESSION.slice(0, 8)}-${++runs}`
  const spec = buildRunSpec({ workspace: ws.dir, llmUrl: loopbackUrl(llm.url), runId })
  const sandbox = await (options.backend ?? dockerBackend())
    .start({
      spec,
      env: { OPENAI_API_KEY: "sk-docker-test", PATH: "/host/only/path", HOME: "/root" },
      workspace: ws.dir,
      labels: {
        jobId: spec.jobId,
        runId,
        ...(options.parentRunId ? { parentRunId: options.parentRunId } : {}),
      },
      ...(options.settings ? { settings: options.settings } : {}),
    })
    .catch(async (error: unknown) => {
      await llm.close()
      await ws[Symbol.asyncDispose]()
      throw error
    })
  const events: SandboxEvent[] = []
  const collected = (async () => {
    // Framed on bytes; each stored callTools is acknowledged, as the orchestrator does, so its tools may run.
    let pending = Buffer.alloc(0)
    for await (const chunk of sandbox.stdout) {
      pending = Buffer.concat([pending, Buffer.from(chunk)])
      for (let newline = pending.indexOf(0x0a); newline !== -1; newline = pending.indexOf(0x0a)) {
        const line = pending.subarray(0, newline).toString("utf8")
        pending = pending.subarray(newline + 1)
        if (line === "") continue
        const event = sandboxEventSchema.parse(JSON.parse(line))
        events.push(event)
        if (event.type === "callTools") sandbox.acknowledge?.(event.id)
      }
    }
  })()
  return {
    runId,
    sandbox,
    llm,
    ws,
    events,
    async finish() {
      await collected
      return sandbox.wait()
    },
    async [Symbol.asyncDispose]() {
      await sandbox[Symbol.asyncDispose]()
      await llm.close()
      await ws[Symbol.asyncDispose]()
    },
  }
}

/** The stdout of the run's first exec tool call. */
function execOutput(events: SandboxEvent[]): string {
  const resolved = events.find((event) => event.type === "resolveToolResults")
  const part = resolved?.type === "resolveToolResults" ? resolved.toolResults[0]?.result[0] : undefined
  const text = part?.type === "textPart" ? part.text : "{}"
  return (JSON.parse(text) as { stdout?: string }).stdout ?? ""
}

const runContainer = async (runId: string) => {
  const [info] = await sessionContainers({ [LABEL.run]: runId })
  if (!info) throw new Error(`no container labelled with run ${runId}`)
  return docker.getContainer(info.Id).inspect()
}

describe("docker backend", () => {
  it("runs each run in a hardened, labelled container as the workspace's owner, and removes it afterwards", async () => {
    let inspected: Docker.ContainerInspectInfo | undefined
    await using run = await startRun(
      [
        async () => {
          inspected = await runContainer(run.runId)
          return {
            toolCalls: [
              {
                name: "exec",
                arguments: {
                  command: "bash",
                  args: [
                    "-c",
                    "id -u; grep CapEff /proc/self/status; touch /usr/x 2>&1 | head -1; echo $HOME; touch $HOME/ok && echo home-writable; ls -A /workspace/perstack | wc -l; echo note > made-here.txt",
                  ],
                },
              },
            ],
          }
        },
        { text: "done" },
      ],
      { parentRunId: "parent-run-1" },
    )
    const exit = await run.finish()
    expect(exit).toMatchObject({ exitCode: 0, reason: "completed" })
    expect(run.sandbox.backend).toBe("docker")

    const host = inspected?.HostConfig
    expect(inspected?.Config.User).toBe("1000:1000")
    expect(inspected?.Config.Labels).toMatchObject({
      [LABEL.job]: "job-test",
      [LABEL.run]: run.runId,
      [LABEL.parentRun]: "parent-run-1",
      [LABEL.expert]: "writer",
      [SESSION_LABEL]: SESSION,
    })
    // No secret in a label.
    expect(JSON.stringify(inspected?.Config.Labels)).not.toContain("sk-docker-test")
    expect(host).toMatchObject({
      Init: true,
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 512,
      Memory: 2 * 1024 ** 3,
      MemorySwap: 2 * 1024 ** 3,
      NanoCpus: 2e9,
      NetworkMode: "bridge",
      ExtraHosts: ["host.docker.internal:host-gateway"],
      LogConfig: { Type: "none" },
    })
    expect(inspected?.Mounts.find((mount) => mount.Destination === "/run/perstack")?.RW).toBe(false)
    expect(inspected?.Mounts.find((mount) => mount.Destination === "/workspace")?.RW).toBe(true)

    expect(execOutput(run.events).split("\n")).toEqual([
      "1000",
      "CapEff:\t0000000000000000",
      "touch: cannot touch '/usr/x': Read-only file system",
      "/home/perstack",
      "home-writable",
      // The job store is not visible inside: an empty folder stands in its place.
      "0",
      "",
    ])
    const made = await stat(path.join(run.ws.dir, "made-here.txt"))
    expect({ uid: made.uid, gid: made.gid }).toEqual({ uid: 1000, gid: 1000 })
    expect(await eventuallyNone(() => sessionContainers({ [LABEL.run]: run.runId }))).toEqual([])
  })

  it("applies an Expert's cpus and memory, and stops it at its timeout", async () => {
    // The timeout leaves a loaded machine's runtime time to reach its (stalling) LLM request first.
    await using run = await startRun([{ type: "stall" }], {
      settings: { cpus: 0.5, memory: "256m", timeout: 4_000 },
    })
    // The container exists from the moment the run has started.
    const inspected: Docker.ContainerInspectInfo | undefined = await runContainer(run.runId)
    const exit = await run.finish()
    expect(inspected?.HostConfig).toMatchObject({
      NanoCpus: 5e8,
      Memory: 256 * 1024 ** 2,
      MemorySwap: 256 * 1024 ** 2,
    })
    expect(exit.reason).toBe("timeout")
    expect(run.events.at(-1)).toMatchObject({
      type: "stopRunByError",
      checkpoint: { status: "stoppedByCancel" },
    })
  })

  it("kills a run that does not stop within the grace period", async () => {
    const image = await buildFixtureImage({
      name: "stubborn",
      entry: path.join(import.meta.dirname, "support/fixtures/stubborn-runtime.mjs"),
    })
    try {
      await using run = await startRun([], { settings: { image } })
      // Give it time to start and install its handler.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const started = Date.now()
      await run.sandbox.stop({ graceMs: 500 })
      const exit = await run.finish()
      expect(Date.now() - started).toBeGreaterThanOrEqual(450)
      expect(exit).toMatchObject({ reason: "cancelled", exitCode: 137, signal: "SIGKILL" })
      expect(exit.stderrTail).toContain("stubborn: SIGTERM ignored")
      expect(await eventuallyNone(() => sessionContainers({ [LABEL.run]: run.runId }))).toEqual([])
    } finally {
      await removeFixtureImage(image)
    }
  })

  it("reports a sandbox the kernel killed for memory as out of memory, with its limit", async () => {
    const image = await buildFixtureImage({
      name: "hungry",
      entry: path.join(import.meta.dirname, "support/fixtures/hungry-runtime.mjs"),
    })
    try {
      await using run = await startRun([], { settings: { image, memory: "64m" } })
      const exit = await run.finish()
      expect(exit).toMatchObject({ reason: "oomKilled", exitCode: 137, memoryLimitBytes: 64 * 1024 ** 2 })
      expect(exit.stderrTail).toContain("hungry: eating")
    } finally {
      await removeFixtureImage(image)
    }
  })

  it('refuses an Expert with network = "none", naming the setting, before starting anything', async () => {
    await expect(startRun([{ text: "unreachable" }], { settings: { network: "none" } })).rejects.toThrow(
      /Expert "writer" has \[experts\."writer"\.sandbox\] network = "none".*could not reach the LLM at http:\/\/127\.0\.0\.1/s,
    )
  })

  it("says how to build a missing image, and how to get an engine when none answers", async () => {
    await expect(startRun([], { settings: { image: "perstack/no-such-image:0" } })).rejects.toThrow(
      /the sandbox image perstack\/no-such-image:0 is not in the Docker engine: build or pull it/,
    )
    const previous = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    try {
      await expect(startRun([], { backend: createDockerBackend() })).rejects.toThrow(
        /cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock .*scripts\/docker-engine\.sh.*--sandbox local/s,
      )
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = previous
    }
  })

  it("an orchestrator killed -9: its container stops at the next tool call, which never runs", async () => {
    await using ws = await userWorkspace()
    await using llm = await startScriptedLlmServer({
      host: "0.0.0.0",
      steps: [
        async () => {
          // Answered after the orchestrator is gone.
          await new Promise((resolve) => setTimeout(resolve, 1_500))
          return { toolCalls: [{ name: "writeTextFile", arguments: { path: "ran.txt", text: "ran" } }] }
        },
        { text: "never asked" },
      ],
    })
    const runId = `run-${SESSION.slice(0, 8)}-doomed`
    const orchestrator = spawn(
      process.execPath,
      [
        path.join(import.meta.dirname, "support/fixtures/doomed-orchestrator.ts"),
        loopbackUrl(llm.url),
        ws.dir,
        runId,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    )
    const id = await new Promise<string>((resolve) =>
      orchestrator.stdout.once("data", (data: Buffer) => resolve(data.toString().trim())),
    )
    orchestrator.kill("SIGKILL")
    const exit = await docker.getContainer(id).wait()
    // The runtime found stdin closed when it asked for the call's acknowledgement, and stopped (exit 3).
    expect(exit).toMatchObject({ StatusCode: 3 })
    expect(llm.requests).toHaveLength(1)
    await expect(stat(path.join(ws.dir, "ran.txt"))).rejects.toMatchObject({ code: "ENOENT" })
  })

  it("sweeps what an earlier attempt of the same job left behind before its first run", async () => {
    const leftover = await docker.createContainer({
      Image: "perstack/sandbox:0.1.0-minimal",
      Cmd: ["sleep", "600"],
      Labels: {
        [LABEL.managed]: "0.1.0",
        [LABEL.job]: "job-test",
        [LABEL.owner]: "a-crashed-orchestrator",
        [SESSION_LABEL]: SESSION,
      },
    })
    await leftover.start()
    // And its locked-down network, which goes after the containers (none may be attached).
    const leftoverNetwork = await docker.createNetwork({
      Name: `perstack-egress-leftover-${SESSION.slice(0, 8)}`,
      Internal: true,
      Labels: {
        [LABEL.managed]: "0.1.0",
        [LABEL.job]: "job-test",
        [LABEL.owner]: "a-crashed-orchestrator",
        [SESSION_LABEL]: SESSION,
      },
    })
    await using run = await startRun([{ text: "fresh start" }], { backend: dockerBackend() })
    await run.finish()
    await expect(leftover.inspect()).rejects.toMatchObject({ statusCode: 404 })
    await expect(leftoverNetwork.inspect()).rejects.toMatchObject({ statusCode: 404 })
  })
})

describe("perstack.toml [experts.x.sandbox] image", () => {
  it("runs an Expert in its own image; an image holding the runtime is all it takes", async () => {
    const image = `perstack/sandbox:0.1.0-minimal`
    let inspected: Docker.ContainerInspectInfo | undefined
    await using run = await startRun(
      [
        async () => {
          inspected = await runContainer(run.runId)
          return { text: "minimal works" }
        },
      ],
      { settings: { image } },
    )
    expect(await run.finish()).toMatchObject({ reason: "completed" })
    expect(inspected?.Config.Image).toBe(image)
    expect(run.sandbox.image).toBe(image)
  })
})
