// The seeds' code blocks and commands (e2e/support/seed-blocks.ts), run the way a user following them would: in a
// shell whose PATH has `perstack` (and `npx perstack` finds this package), a local Docker engine, a scripted LLM in
// place of the provider (its base URL in the environment or the workspace's .env: the one thing no seed shows).
// Each block runs as written, or with the one change its status names; those that cannot run here say why.
import { spawn } from "node:child_process"
import { readdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sha256Hex } from "../orchestrator/serve/api-keys.ts"
import { JobStore } from "../orchestrator/store/job-store.ts"
import { type ExpertReplies, lastInput } from "../orchestrator/testing/expert-script.ts"
import { ensureImages } from "./support/docker-session.ts"
import {
  FITNESS_TOML,
  SEED_BLOCKS,
  SEED_DOCKERFILE,
  WALKTHROUGH_FITNESS_TOML,
  withoutWhitespace,
} from "./support/seed-blocks.ts"
import {
  createUserStage,
  events,
  freePort,
  lines,
  recordedFitness,
  type StageLlm,
  startedExperts,
  type UserStage,
} from "./support/user-stage.ts"

const repo = path.resolve(import.meta.dirname, "..")
const seedsDir = path.resolve(repo, "../shared/seeds")

const text = (id: string): string => {
  const block = SEED_BLOCKS.find((candidate) => candidate.id === id)
  if (!block) throw new Error(`no seed block ${id}`)
  return block.text
}

/** A user's machine (e2e/support/user-stage.ts): a shell, a terminal, a scripted LLM, docker labelling what it makes. */
let stage: UserStage

beforeAll(async () => {
  await ensureImages("all")
  stage = await createUserStage("seeds")
})

afterAll(async () => {
  await stage?.[Symbol.asyncDispose]()
})

const MY_EXPERT_TOML = `[provider]
providerName = "fireworks"

[experts."my-expert"]
description = "Answers."
instruction = "Answer briefly."
`

describe("the seeds' blocks", () => {
  it("are each still in their seed, with a status; what cannot run here says why", async () => {
    const files = await readdir(seedsDir)
    for (const block of SEED_BLOCKS) {
      expect(block.seeds.length, block.id).toBeGreaterThan(0)
      for (const seed of block.seeds) {
        const file = files.find((name) => name.startsWith(seed))
        expect(file, `${block.id}: seed ${seed}`).toBeDefined()
        const seedText = withoutWhitespace(await readFile(path.join(seedsDir, file as string), "utf8"))
        expect(seedText.includes(withoutWhitespace(block.text)), `${block.id} in seed ${file}`).toBe(true)
      }
      if (block.status.kind === "not here") expect(block.status.why.length, block.id).toBeGreaterThan(10)
    }
    // The compatibility page lists every block with its status, as this file has it.
    const page = await readFile(path.join(repo, "docs/compatibility.md"), "utf8")
    for (const block of SEED_BLOCKS) {
      const escaped = block.id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      expect(page, block.id).toMatch(new RegExp(`\\| \`${escaped}\` +\\| ${block.status.kind} +\\|`))
    }
  })
})

describe("on the host: npx perstack, perstack", () => {
  let walkthrough: string
  let jobId: string

  it.each(["fitness-toml", "walkthrough-fitness-toml", "news-researcher-toml", "ai-gaming-toml"])(
    "%s: perstack validate takes it",
    async (id) => {
      const dir = await stage.dir(`validate-${id}`, { "perstack.toml": text(id) })
      const result = await stage.shell("npx perstack validate", dir)
      expect([result.code, result.stderr]).toEqual([0, expect.any(String)])
      expect(result.stdout + result.stderr).toMatch(/ok|valid/i)
    },
  )

  it("npx-run-fitness: the walkthrough's Experts run headless, the coordinator delegating", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    walkthrough = await stage.dir("walkthrough", { "perstack.toml": text("walkthrough-fitness-toml") })
    const result = await stage.shell(
      lines(text("export-anthropic-key"), text("npx-run-fitness")),
      walkthrough,
      {
        ANTHROPIC_BASE_URL: llm.hostUrl,
      },
    )
    expect(result.code, result.stderr).toBe(0)
    const list = events(result.stdout)
    expect(startedExperts(list)).toEqual(["fitness-assistant", "pro-trainer", "fitness-assistant"])
    expect(list.findLast((event) => event.type === "completeRun")?.text).toContain("fitness-log.md")
    expect(await readFile(path.join(walkthrough, "fitness-log.md"), "utf8")).toContain(
      "Menu from pro-trainer",
    )
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-ant-...")
    jobId = String(list.find((event) => typeof event.jobId === "string")?.jobId)
  })

  it("npx-log: shows the latest job, its Experts and how it ended", async () => {
    const result = await stage.shell(text("npx-log"), walkthrough)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(jobId)
    expect(result.stdout).toContain("pro-trainer")
    expect(result.stdout).toMatch(/completed/)
  })

  it.each(["--errors", "--tools", '--step "5-10"', "--summary", "--json"])(
    "npx-log %s: answers for the latest job",
    async (option) => {
      const result = await stage.shell(`npx perstack log ${text(`npx-log ${option}`)}`, walkthrough)
      expect(result.code, result.stderr).toBe(0)
      if (option === "--json") {
        const parsed = result.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line))
        expect(parsed.length).toBeGreaterThan(0)
      }
      if (option === "--tools") expect(result.stdout).toContain("writeTextFile")
      if (option === "--summary") expect(result.stdout).toContain("fitness-assistant")
    },
  )

  it("npx-log-job: the job named by its id", async () => {
    const result = await stage.shell(
      text("npx-log-job").replace(/^\$ /, "").replace("<jobId>", jobId),
      walkthrough,
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(jobId)
    expect(result.stdout).toContain("pro-trainer")
  })

  it("npx-install: writes perstack.lock", async () => {
    const result = await stage.shell(text("npx-install"), walkthrough)
    expect(result.code, result.stderr).toBe(0)
    const lock = JSON.parse(await readFile(path.join(walkthrough, "perstack.lock"), "utf8"))
    expect(lock).toMatchObject({ configFile: "perstack.toml", experts: {} })
  })

  it("npx-start-fitness: the TUI runs the getting-started Experts to the end", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const dir = await stage.dir("getting-started", { "perstack.toml": text("fitness-toml") })
    await using term = await stage.terminal(
      lines(text("export-anthropic-key"), text("npx-start-fitness")),
      dir,
      {
        ANTHROPIC_BASE_URL: llm.hostUrl,
      },
    )
    const screen = await term.waitFor("Type a follow-up", 120_000)
    expect(screen).toContain("pro-trainer")
    expect(screen).toContain("Query: Start today's session")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
    expect(await readFile(path.join(dir, "fitness-log.md"), "utf8")).toContain("Menu from pro-trainer")
  })

  it("start-from-registry (not here): refused with the Expert named, nothing run", async () => {
    const dir = await stage.dir("registry", { "perstack.toml": FITNESS_TOML })
    await using term = await stage.terminal(text("start-from-registry"), dir)
    expect(await term.exitCode()).not.toBe(0)
    expect(await term.screen()).toContain('no Expert "tic-tac-toe"')
    expect(await readdir(dir)).toEqual(["perstack.toml"])
  })

  it("start-env-path: the keys come from the file named", async () => {
    await using llm = await stage.scripted({ "my-expert": [{ text: "Answer from production." }] })
    const dir = await stage.dir("env-path", {
      "perstack.toml": MY_EXPERT_TOML,
      ".env.production": `FIREWORKS_API_KEY=fw-production\nFIREWORKS_BASE_URL=${llm.hostUrl}\n`,
    })
    await using term = await stage.terminal(text("start-env-path"), dir)
    expect(await term.waitFor("Type a follow-up", 120_000)).toContain("Answer from production.")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer fw-production")
  })
})

describe("with Docker: docker run perstack/perstack", () => {
  it("docker-start-env-key: the key forwarded with -e, the TUI in the container", async () => {
    await using llm = await stage.scripted({ "my-expert": [{ text: "Hello from the container." }] })
    const user = await stage.dir(
      "docker-env-key",
      {
        "workspace/perstack.toml": MY_EXPERT_TOML,
        "workspace/.env": `FIREWORKS_BASE_URL=${llm.containerUrl}\n`,
      },
      { mounted: true },
    )
    await using term = await stage.terminal(
      lines(text("export-fireworks-key"), text("docker-start-env-key")),
      user,
    )
    expect(await term.waitFor("Type a follow-up", 120_000)).toContain("Hello from the container.")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer fw_...")
  })

  it("workspace-dotenv, docker-start-dotenv: the key from the workspace's .env", async () => {
    await using llm = await stage.scripted({ "my-expert": [{ text: "Keys from .env." }] })
    const dotenv = text("workspace-dotenv").replace("# ./workspace/.env\n", "")
    const user = await stage.dir(
      "docker-dotenv",
      {
        "workspace/perstack.toml": MY_EXPERT_TOML,
        "workspace/.env": `${dotenv}\nFIREWORKS_BASE_URL=${llm.containerUrl}\n`,
      },
      { mounted: true },
    )
    await using term = await stage.terminal(text("docker-start-dotenv"), user)
    expect(await term.waitFor("Type a follow-up", 120_000)).toContain("Keys from .env.")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer fw_...")
  })

  describe("the ai-gaming walkthrough", () => {
    let user: string
    const team = (finalText: string): ExpertReplies => ({
      "ai-gaming": [
        {
          toolCalls: [
            { name: "delegate__ai-gaming__level-designer", arguments: { query: "Design 10 floors" } },
            { name: "delegate__ai-gaming__programmer", arguments: { query: "Write the crawler" } },
            { name: "delegate__ai-gaming__tester", arguments: { query: "Play-test it" } },
          ],
        },
        { text: finalText },
      ],
      "@ai-gaming/level-designer": [{ text: "10 floors designed." }],
      "@ai-gaming/programmer": [{ text: "The crawler is written." }],
      "@ai-gaming/tester": [{ text: "No bugs left." }],
    })
    const withoutPull = (id: string) => text(id).replace("--pull always ", "")

    it("docker-run-ai-gaming (adapted): the team runs headless, each delegate in its own sandbox", async () => {
      await using llm = await stage.scripted(team("The dungeon crawler is done."))
      user = await stage.dir(
        "ai-gaming-user",
        {
          "ai-gaming/perstack.toml": text("ai-gaming-toml"),
          "ai-gaming/.env": `FIREWORKS_BASE_URL=${llm.containerUrl}\n`,
        },
        { mounted: true },
      )
      const result = await stage.shell(
        lines(text("export-fireworks-key"), withoutPull("docker-run-ai-gaming")),
        user,
      )
      expect(result.code, result.stderr).toBe(0)
      const list = events(result.stdout)
      expect(new Set(startedExperts(list))).toEqual(
        new Set(["ai-gaming", "@ai-gaming/level-designer", "@ai-gaming/programmer", "@ai-gaming/tester"]),
      )
      expect(list.findLast((event) => event.type === "completeRun")?.text).toBe(
        "The dungeon crawler is done.",
      )
      expect((llm.requests[0]?.body as { model?: string } | undefined)?.model).toBe(
        "accounts/fireworks/models/kimi-k2p5",
      )
    })

    it("docker-start-ai-gaming (adapted): the same in the TUI, the delegation tree on screen", async () => {
      await using llm = await stage.scripted(team("Done in the TUI."))
      await writeFile(path.join(user, "ai-gaming/.env"), `FIREWORKS_BASE_URL=${llm.containerUrl}\n`)
      await using term = await stage.terminal(
        lines(text("export-fireworks-key"), withoutPull("docker-start-ai-gaming")),
        user,
      )
      const screen = await term.waitFor("Type a follow-up", 120_000)
      expect(screen).toContain("✓ @ai-gaming/tester")
      expect(screen).toContain("Done in the TUI.")
      await term.keys("Escape")
      expect(await term.exitCode()).toBe(0)
    })

    it("docker-log: the history browser in the container shows the team's jobs", async () => {
      await using term = await stage.terminal(text("docker-log"), user)
      await term.waitFor("ai-gaming", 60_000)
      await term.keys("q")
      expect(await term.exitCode()).toBe(0)
    })

    it("docker-install: writes perstack.lock into the mounted workspace", async () => {
      await using term = await stage.terminal(text("docker-install"), user)
      expect(await term.exitCode(120_000)).toBe(0)
      const lock = JSON.parse(await readFile(path.join(user, "ai-gaming/perstack.lock"), "utf8"))
      expect(lock).toMatchObject({ configFile: "perstack.toml" })
    })
  })

  describe("an image of one's own (Adding AI to your app)", () => {
    let user: string
    const tag = "perstack-expert"
    // One provider for the three runs: the workspace's .env (its URL) must not change under the job.
    const replies: ExpertReplies = {
      "my-expert": [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "answer.md", text: "first" } }] },
        { text: "Answered the user query." },
        (request) => ({ text: `Follow-up: ${lastInput(request)}` }),
        { text: "Answered again from step 1." },
      ],
    }
    let llm: StageLlm
    afterAll(async () => {
      await llm?.close()
    })

    it("docker-expert-image-run: runs the Expert, events on stdout, checkpoints in the mounted workspace", async () => {
      // The seed does not show perstack-expert's Dockerfile: the production one, with `perstack run` as its entrypoint.
      const context = await stage.dir("expert-image", {
        Dockerfile: `${SEED_DOCKERFILE.replace(
          "COPY perstack.toml .",
          "COPY perstack.toml /perstack.toml",
        ).replace('["perstack", "run", "my-expert"]', '["perstack", "run"]')}`,
        "perstack.toml": '[experts."my-expert"]\ninstruction = "Answer briefly."\n',
      })
      const built = await stage.shell(`docker build -q -t ${tag} .`, context)
      expect(built.code, built.stderr).toBe(0)
      llm = await stage.scripted(replies)
      user = await stage.dir(
        "expert-image-user",
        {
          "workspace/.env": `ANTHROPIC_BASE_URL=${llm.containerUrl}\n`,
        },
        { mounted: true },
      )
      const result = await stage.shell(
        lines(text("export-anthropic-key"), text("docker-expert-image-run")),
        user,
      )
      expect(result.code, result.stderr).toBe(0)
      expect(events(result.stdout).findLast((event) => event.type === "completeRun")?.text).toBe(
        "Answered the user query.",
      )
      expect(await readdir(path.join(user, "workspace/perstack/jobs"))).toHaveLength(1)
    })

    it("docker-expert-image-continue: --continue takes the follow-up in the same job", async () => {
      const result = await stage.shell(
        lines(text("export-anthropic-key"), text("docker-expert-image-continue")),
        user,
      )
      expect(result.code, result.stderr).toBe(0)
      expect(events(result.stdout).findLast((event) => event.type === "completeRun")?.text).toBe(
        "Follow-up: follow-up query",
      )
      expect(await readdir(path.join(user, "workspace/perstack/jobs"))).toHaveLength(1)
    })

    it("docker-expert-image-resume-from: back to a checkpoint taken mid-run, run again from there", async () => {
      const store = new JobStore(path.join(user, "workspace/perstack"))
      const [job] = await store.listJobs()
      const [step1] = await store.listCheckpoints(job?.id ?? "")
      expect(step1?.status).toBe("proceeding")
      const before = llm.requests.length
      const script = lines(
        text("export-anthropic-key"),
        text("docker-expert-image-resume-from").replace("<checkpoint-id>", step1?.id ?? ""),
      )
      const result = await stage.shell(script, user)
      expect(result.code, result.stderr).toBe(0)
      expect(events(result.stdout).findLast((event) => event.type === "completeRun")?.text).toBe(
        "Answered again from step 1.",
      )
      // The model saw the conversation up to step 1 only: the file written, not the first answer nor the follow-up.
      const sent = JSON.stringify(llm.requests[before]?.body)
      expect(sent).toContain("answer.md")
      expect(sent).not.toContain("follow-up query")
    })
  })
})

describe("the Execution API (perstack serve in place of api.perstack.ai)", () => {
  let serveUrl: string
  let server: ReturnType<typeof spawn> | undefined
  let llm: StageLlm
  let dir: string
  let jobId: string
  const apiKey = "psk-seeds-test-0123456789abcdef"
  const hosted = (id: string) => text(id).replaceAll("https://api.perstack.ai", serveUrl)

  beforeAll(async () => {
    const recorded = await recordedFitness()
    llm = await stage.scripted({
      "fitness-assistant": [
        ...(recorded["fitness-assistant"] ?? []),
        { text: "Weekly schedule: Mon, Wed, Fri." },
        ...(recorded["fitness-assistant"] ?? []),
        { text: "Weekly schedule, again." },
      ],
      "pro-trainer": [...(recorded["pro-trainer"] ?? []), ...(recorded["pro-trainer"] ?? [])],
    })
    dir = await stage.dir("serve", {
      "perstack.toml": WALKTHROUGH_FITNESS_TOML,
      "keys.jsonl": `{"name":"my-app","sha256":"${sha256Hex(apiKey)}"}\n`,
    })
    const port = await freePort()
    serveUrl = `http://127.0.0.1:${port}`
    server = spawn(
      process.execPath,
      [path.join(repo, "dist/perstack.js"), "serve", "--api-keys-file", "keys.jsonl", "--port", String(port)],
      {
        cwd: dir,
        env: stage.env({ ANTHROPIC_API_KEY: "sk-ant-serve", ANTHROPIC_BASE_URL: llm.hostUrl }),
        stdio: "ignore",
      },
    )
    for (let tries = 0; ; tries++) {
      const ok = await fetch(`${serveUrl}/healthz`).then(
        (response) => response.ok,
        () => false,
      )
      if (ok) break
      if (tries > 200) throw new Error("perstack serve did not come up")
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM")
      await new Promise((resolve) => server?.once("exit", resolve))
    }
    await llm?.close()
  })

  it("curl-start-job (adapted): the seeds' body starts a job", async () => {
    const result = await stage.shell(
      text("curl-start-job").replace("https://api.perstack.ai", serveUrl),
      dir,
      {
        PERSTACK_API_KEY: apiKey,
      },
    )
    expect(result.code, result.stderr).toBe(0)
    const job = JSON.parse(result.stdout).data.job
    expect(job).toMatchObject({
      applicationId: "your-app-id",
      expertKey: "fitness-assistant",
      provider: "anthropic",
    })
    jobId = job.id
  })

  it("curl-stream (adapted): message events, then complete", async () => {
    const result = await stage.shell(hosted("curl-stream").replace("{jobId}", jobId), dir, {
      PERSTACK_API_KEY: apiKey,
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("event: message")
    expect(result.stdout).toContain('"type":"completeRun"')
    expect(result.stdout).toMatch(/event: complete\ndata: \{"job":\{[^\n]*"status":"completed"/)
  })

  it("curl-continue (adapted): the follow-up runs in the same job", async () => {
    const result = await stage.shell(hosted("curl-continue").replace("{jobId}", jobId), dir, {
      PERSTACK_API_KEY: apiKey,
    })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).data.job.id).toBe(jobId)
    const stream = await stage.shell(hosted("curl-stream").replace("{jobId}", jobId), dir, {
      PERSTACK_API_KEY: apiKey,
    })
    expect(stream.stdout).toContain("Weekly schedule: Mon, Wed, Fri.")
  })

  it("api-client (adapted): the typed client's start, stream and continue", async () => {
    await writeFile(
      path.join(stage.root, "api-client.mjs"),
      text("api-client").replace('"@perstack/api-client"', '"perstack"'),
    )
    const result = await stage.shell("node api-client.mjs", stage.root, {
      PERSTACK_API_KEY: apiKey,
      PERSTACK_API_BASE_URL: serveUrl,
    })
    expect(result.code, result.stderr).toBe(0)
    const printed = result.stdout.split("\n").map((line) => line.split(" ")[0])
    expect(printed).toContain("startRun")
    expect(printed).toContain("completeRun")
    expect(printed.filter((type) => type === "sandboxStarted")).toHaveLength(3)
  })
})

describe("the runtime as a library (perstack/runtime)", () => {
  it.each([
    ["runtime-embed", "anthropic"],
    ["runtime-embed-listener", "anthropic"],
    ["runtime-embed-fireworks", "fireworks"],
    ["runtime-embed-fireworks-listener", "fireworks"],
  ])("%s (adapted): run() resolves to the last checkpoint", async (id, provider) => {
    const expert = provider === "fireworks" ? "my-expert" : "fitness-assistant"
    await using llm = await stage.scripted(
      provider === "fireworks" ? { "my-expert": [{ text: "Embedded answer." }] } : await recordedFitness(),
    )
    const dir = await stage.dir(`embed-${id}`, {
      "perstack.toml": provider === "fireworks" ? MY_EXPERT_TOML : WALKTHROUGH_FITNESS_TOML,
    })
    // The seed's code, then what a caller does with the checkpoint.
    const program = `${text(id).replace('"@perstack/runtime"', '"perstack/runtime"')}
console.log("RESULT", JSON.stringify({ status: checkpoint.status, expert: checkpoint.expert.key }))
`
    await writeFile(path.join(stage.root, `${id}.mjs`), program)
    const keyName = provider === "fireworks" ? "FIREWORKS" : "ANTHROPIC"
    const result = await stage.shell(
      `cd ${JSON.stringify(dir)} && node ${JSON.stringify(path.join(stage.root, `${id}.mjs`))}`,
      stage.root,
      {
        [`${keyName}_API_KEY`]: "sk-embed",
        [`${keyName}_BASE_URL`]: llm.hostUrl,
      },
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`RESULT {"status":"completed","expert":"${expert}"}`)
    if (id.endsWith("listener")) expect(result.stdout).toMatch(/^completeRun /m)
    else expect(result.stdout).not.toMatch(/^completeRun /m)
  })
})
