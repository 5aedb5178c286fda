// The perstack/perstack image, used as the README shows: `docker run --rm -v ./ws:/workspace perstack/perstack run
// <expert> "<query>"`, with each Expert a process inside it, or (the Docker socket mounted) a sibling container.
import { execFile } from "node:child_process"
import { copyFile, readFile, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LABEL } from "../orchestrator/sandbox/docker/labels.ts"
import { type ExpertReplies, startExpertScript } from "../orchestrator/testing/expert-script.ts"
import {
  docker,
  ensureImages,
  SESSION,
  SESSION_LABEL,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"
import { SEED_DOCKERFILE } from "./support/seed-blocks.ts"

const repo = path.resolve(import.meta.dirname, "..")
const example = path.join(repo, "examples/fitness-assistant")
const exec = promisify(execFile)
const dockerCli = process.platform === "linux" ? "/usr/bin/docker" : "docker"

beforeAll(() => ensureImages("all"))
afterAll(sweepSession)

async function recorded(): Promise<ExpertReplies> {
  const file = JSON.parse(await readFile(path.join(example, "recorded-conversation.json"), "utf8")) as {
    experts: ExpertReplies
  }
  return file.experts
}

/** `docker run ... perstack/perstack run fitness-assistant ...` in a workspace holding perstack.toml and .env. */
async function dockerRunPerstack(extra: { dockerArgs?: string[]; perstackArgs?: string[] } = {}) {
  const ws = await userWorkspace()
  const llm = await startExpertScript(await recorded(), { host: "0.0.0.0" })
  await copyFile(path.join(example, "perstack.toml"), path.join(ws.dir, "perstack.toml"))
  // The key from the workspace's .env, the endpoint from the caller's environment (-e NAME), as in the seeds.
  await writeFile(path.join(ws.dir, ".env"), "OPENAI_COMPATIBLE_API_KEY=sk-from-dot-env\n")
  const port = new URL(llm.url).port
  const result = await exec(
    dockerCli,
    [
      "run",
      "--rm",
      "--label",
      `${SESSION_LABEL}=${SESSION}`,
      // The scripted LLM listens on the host.
      "--add-host",
      "host.docker.internal:host-gateway",
      "-e",
      "OPENAI_COMPATIBLE_BASE_URL",
      "-v",
      `${ws.dir}:/workspace`,
      ...(extra.dockerArgs ?? []),
      "perstack/perstack",
      "run",
      "fitness-assistant",
      "Start today's session",
      "--provider",
      "openai-compatible",
      "--model",
      "recorded",
      "--reasoning-budget",
      "none",
      ...(extra.perstackArgs ?? []),
    ],
    {
      env: { ...process.env, OPENAI_COMPATIBLE_BASE_URL: `http://host.docker.internal:${port}/v1` },
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  const events = result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string })
  return {
    ws,
    llm,
    result,
    events,
    async [Symbol.asyncDispose]() {
      await llm.close()
      await ws[Symbol.asyncDispose]()
    },
  }
}

describe("docker run perstack/perstack", () => {
  it("runs the README's job in the mounted workspace, each Expert a process in the container", async () => {
    await using run = await dockerRunPerstack()
    expect(run.result.stderr).toContain("completed after")
    const started = run.events.filter((event) => event.type === "sandboxStarted")
    expect(started.map((event) => [event.expertKey, event.backend])).toEqual([
      ["fitness-assistant", "local"],
      ["pro-trainer", "local"],
      ["fitness-assistant", "local"],
    ])
    const log = await readFile(path.join(run.ws.dir, "fitness-log.md"), "utf8")
    expect(log).toContain("- Menu from pro-trainer: goblet squats 4x8")
    expect(run.llm.requests[0]?.headers.authorization).toBe("Bearer sk-from-dot-env")
  })

  it("with the Docker socket mounted and --sandbox docker, runs each Expert in a sibling container", async () => {
    const created: Array<Record<string, string>> = []
    const watch = (await docker.getEvents({
      filters: { type: ["container"], event: ["create"], label: [LABEL.managed] },
    })) as NodeJS.ReadableStream & { destroy(): void }
    watch.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        created.push((JSON.parse(line) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes)
      }
    })
    await using run = await dockerRunPerstack({
      // The cold path, whose containers carry their run's labels (e2e/docker-warm-pool.test.ts covers the pool).
      dockerArgs: ["-v", "/var/run/docker.sock:/var/run/docker.sock", "-e", "PERSTACK_DOCKER_WARM_POOL=0"],
      perstackArgs: ["--sandbox", "docker"],
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    watch.destroy()
    expect(run.result.stderr).toContain("completed after")
    const started = run.events.filter((event) => event.type === "sandboxStarted")
    expect(started.map((event) => [event.expertKey, event.backend])).toEqual([
      ["fitness-assistant", "docker"],
      ["pro-trainer", "docker"],
      ["fitness-assistant", "docker"],
    ])
    const jobId = String(started[0]?.jobId)
    const siblings = created.filter((labels) => labels[LABEL.job] === jobId && labels[LABEL.run])
    expect(siblings).toHaveLength(3)
    // And the job's egress relay, on its locked-down network and the orchestrator's container's (the gateway on).
    const relays = created.filter((labels) => labels[LABEL.job] === jobId && labels[LABEL.egress])
    expect(relays).toHaveLength(1)
    // Owned by the perstack/perstack container, which is gone now: gc would know them for orphans.
    expect(siblings.every((labels) => /^[0-9a-f]{64}$/.test(labels[LABEL.ownerContainer] ?? ""))).toBe(true)
    // The workspace path was translated to the host's: the file is on the host, owned by the workspace's owner.
    const log = path.join(run.ws.dir, "fitness-log.md")
    expect(await readFile(log, "utf8")).toContain("- Menu from pro-trainer: goblet squats 4x8")
    expect((await stat(log)).uid).toBe(1000)
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL.job}=${jobId}`] } })).toEqual(
      [],
    )
    expect(await docker.listNetworks({ filters: { label: [`${LABEL.job}=${jobId}`] } })).toEqual([])
  })

  it("builds the seeds' production Dockerfile as written, and its image runs the Expert", async () => {
    await using context = await userWorkspace()
    // The seeds' Dockerfile, word for word (its comments included).
    await writeFile(path.join(context.dir, "Dockerfile"), SEED_DOCKERFILE)
    await writeFile(
      path.join(context.dir, "perstack.toml"),
      `model = "scripted"
reasoningBudget = "none"
provider = { providerName = "openai-compatible" }

[experts."my-expert"]
description = "Answers."
instruction = "Answer briefly."
`,
    )
    const tag = `perstack-seed-dockerfile:${SESSION.slice(0, 8)}`
    await exec(dockerCli, ["build", "-q", "--label", `${SESSION_LABEL}=${SESSION}`, "-t", tag, context.dir])
    try {
      const env = await exec(dockerCli, [
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        tag,
        "-c",
        "command -v perstack; echo $PERSTACK_SANDBOX",
      ])
      expect(env.stdout.trim().split("\n")).toEqual(["/usr/local/bin/perstack", "1"])
      await using llm = await startExpertScript(
        { "my-expert": [{ text: "Hello from the image." }] },
        { host: "0.0.0.0" },
      )
      const port = new URL(llm.url).port
      const result = await exec(
        dockerCli,
        [
          "run",
          "--rm",
          "--label",
          `${SESSION_LABEL}=${SESSION}`,
          "--add-host",
          "host.docker.internal:host-gateway",
          "-e",
          `OPENAI_COMPATIBLE_BASE_URL=http://host.docker.internal:${port}/v1`,
          "-e",
          "OPENAI_COMPATIBLE_API_KEY=sk-seed-0001",
          tag,
          "Say hello",
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      )
      const events = result.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; text?: string })
      expect(events.find((event) => event.type === "completeRun")?.text).toBe("Hello from the image.")
      expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-seed-0001")
    } finally {
      await exec(dockerCli, ["image", "rm", "-f", tag]).catch(() => undefined)
    }
  })
})
