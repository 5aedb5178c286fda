// The README's own code blocks, run the way a reader following it would, on a user's machine (e2e/support/user-stage.ts):
// `perstack` on PATH, a shell, a terminal for `perstack start`, a local Docker engine, a scripted LLM in place of the
// provider (its base URL in the environment or the workspace's .env: the one thing the README does not show). Every
// block is run here, as written or with the one change named, or is listed in ELSEWHERE with the test that runs it;
// a block that is neither fails the first test, so the README cannot drift from what is tested.
import { type ChildProcess, spawn } from "node:child_process"
import { cp, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sha256Hex } from "../orchestrator/serve/api-keys.ts"
import { ensureImages } from "./support/docker-session.ts"
import { readmeUnitsOf } from "./support/readme-blocks.ts"
import {
  createUserStage,
  events,
  freePort,
  lines,
  recordedFitness,
  startedExperts,
  type UserStage,
} from "./support/user-stage.ts"

const repo = path.resolve(import.meta.dirname, "..")
const README = await readmeUnitsOf(path.join(repo, "README.md"))

/** The README's blocks this file runs, by their key (a command without its comment; `<lang>: <first line>`). */
const HERE = {
  toml: 'toml: [experts."fitness-assistant"]',
  exportKey: "export ANTHROPIC_API_KEY=sk-ant-...",
  cd: "cd examples/fitness-assistant",
  validate: "perstack validate",
  run: `perstack run fitness-assistant "Start today's session"`,
  log: "perstack log",
  continue: `perstack run fitness-assistant --continue "Now a weekly plan"`,
  start: `perstack start fitness-assistant "Start today's session"`,
  docker: `perstack run fitness-assistant "Start today's session" --sandbox docker`,
  container: `docker run --rm -v ./ws:/workspace -e ANTHROPIC_API_KEY perstack/perstack run fitness-assistant "Start today's session"`,
  serve: "perstack serve --api-keys-file keys.jsonl --root ./perstack-serve --port 8080",
  library: 'ts: import { run } from "perstack"',
} as const

/** The README's blocks another test runs: each file that runs it, with a line of that file that shows it does. */
const ELSEWHERE: Record<string, { by: Array<[file: string, shows: string]>; how: string }> = {
  "make demo": {
    by: [
      [".ci/run", "\nmake demo\n"],
      ["e2e/demo.test.ts", "scripts/demo.ts"],
    ],
    how: "CI runs `make demo` on a fresh clone as a newcomer does; the e2e test runs its job (scripts/demo.ts)",
  },
  "make test": { by: [[".ci/run", "\nmake test\n"]], how: "CI's test command is exactly `make test`" },
  "make images": {
    by: [
      ["Makefile", "$(RUN) scripts/build-images.sh"],
      ["e2e/support/docker-session.ts", '"scripts/build-images.sh"'],
    ],
    how: "every docker e2e test's setup (ensureImages) runs scripts/build-images.sh, the target's command",
  },
  'perstack run fitness-assistant "Start today\'s session" --sandbox kubernetes': {
    by: [
      ["e2e/kubernetes.test.ts", "the README's team as Kubernetes Jobs (perstack run --sandbox kubernetes)"],
    ],
    how: "the README's team as Kubernetes Jobs on a real cluster",
  },
}

/** The README's text of a block this file runs. */
function block(key: (typeof HERE)[keyof typeof HERE]): string {
  const unit = README.find((candidate) => candidate.key === key)
  if (!unit) throw new Error(`README.md has no block ${key}`)
  return unit.text
}

/** The tour's shell: the key exported, in the example's folder, then these commands. */
const tour = (...commands: string[]) => lines(block(HERE.exportKey), block(HERE.cd), ...commands)

let stage: UserStage
/** The reader's checkout: `cd examples/fitness-assistant` from here. */
let checkout: string
let example: string

beforeAll(async () => {
  await ensureImages("all")
  stage = await createUserStage("readme")
  checkout = await stage.dir("checkout")
  example = path.join(checkout, "examples/fitness-assistant")
  await cp(path.join(repo, "examples/fitness-assistant"), example, { recursive: true })
})

afterAll(async () => {
  await stage?.[Symbol.asyncDispose]()
})

describe("the README's blocks", () => {
  it("are each run here or by the test named, and each entry names a block the README has", async () => {
    const here = new Set<string>(Object.values(HERE))
    const neither = README.filter((unit) => !here.has(unit.key) && !(unit.key in ELSEWHERE)).map(
      (unit) => `README.md:${unit.line}: ${unit.key}`,
    )
    expect(neither, "README blocks neither run by e2e/readme.test.ts nor listed in its ELSEWHERE").toEqual([])
    const keys = new Set(README.map((unit) => unit.key))
    const stale = [...here, ...Object.keys(ELSEWHERE)].filter((key) => !keys.has(key))
    expect(stale, "entries of e2e/readme.test.ts naming no README block").toEqual([])
    for (const [key, { by }] of Object.entries(ELSEWHERE)) {
      for (const [file, shows] of by) {
        const content = await readFile(path.join(repo, file), "utf8").catch(() => "(no such file)")
        expect(content.includes(shows), `${key}: ${file} shows ${JSON.stringify(shows)}`).toBe(true)
      }
    }
    const makefile = await readFile(path.join(repo, "Makefile"), "utf8")
    for (const target of ["demo", "test", "images"]) expect(makefile).toMatch(new RegExp(`^${target}:`, "m"))
  })
})

describe("the tour, on the host", () => {
  let jobId: string

  it("the perstack.toml block: validated, then run, in a folder of its own", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const dir = await stage.dir("declared", { "perstack.toml": block(HERE.toml) })
    const validated = await stage.shell(block(HERE.validate), dir)
    expect(validated.code, validated.stderr).toBe(0)
    expect(validated.stdout).toContain("valid, 2 Experts")
    expect(validated.stdout).toContain("└─ pro-trainer: Suggests training menus")
    const ran = await stage.shell(lines(block(HERE.exportKey), block(HERE.run)), dir, {
      ANTHROPIC_BASE_URL: llm.hostUrl,
    })
    expect(ran.code, ran.stderr).toBe(0)
    expect(startedExperts(events(ran.stdout))).toEqual([
      "fitness-assistant",
      "pro-trainer",
      "fitness-assistant",
    ])
  })

  it("perstack validate: the delegation tree", async () => {
    const result = await stage.shell(tour(block(HERE.validate)), checkout)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/valid, 2 Experts\nfitness-assistant: .*\n└─ pro-trainer: /)
  })

  it("perstack run: NDJSON events on stdout, a summary on stderr, exit 0", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const result = await stage.shell(tour(block(HERE.run)), checkout, { ANTHROPIC_BASE_URL: llm.hostUrl })
    expect(result.code, result.stderr).toBe(0)
    const list = events(result.stdout)
    expect(startedExperts(list)).toEqual(["fitness-assistant", "pro-trainer", "fitness-assistant"])
    expect(list.every((event) => typeof event.jobId === "string")).toBe(true)
    expect(result.stderr).toMatch(/completed/)
    expect(result.stderr).not.toMatch(/^\{/m)
    expect(await readFile(path.join(example, "fitness-log.md"), "utf8")).toContain("Menu from pro-trainer")
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-ant-...")
    jobId = String(list[0]?.jobId)
  })

  it("perstack log: the job's summary, tree and events", async () => {
    const result = await stage.shell(tour(block(HERE.log)), checkout)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(jobId)
    expect(result.stdout).toContain("pro-trainer")
    expect(result.stdout).toMatch(/completed/)
  })

  it("perstack run --continue: the follow-up in the same job", async () => {
    await using llm = await stage.scripted({ "fitness-assistant": [{ text: "Weekly plan: Mon, Wed, Fri." }] })
    const result = await stage.shell(tour(block(HERE.continue)), checkout, {
      ANTHROPIC_BASE_URL: llm.hostUrl,
    })
    expect(result.code, result.stderr).toBe(0)
    const list = events(result.stdout)
    expect(new Set(list.map((event) => event.jobId))).toEqual(new Set([jobId]))
    expect(list.findLast((event) => event.type === "completeRun")?.text).toBe("Weekly plan: Mon, Wed, Fri.")
    expect(JSON.stringify(llm.requests[0]?.body)).toContain("Now a weekly plan")
  })

  it("perstack start: the same in a terminal UI (tmux), to the end", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    await using term = await stage.terminal(tour(block(HERE.start)), checkout, {
      ANTHROPIC_BASE_URL: llm.hostUrl,
    })
    const screen = await term.waitFor("Type a follow-up", 120_000)
    expect(screen).toContain("pro-trainer")
    expect(screen).toContain("Query: Start today's session")
    await term.keys("Escape")
    expect(await term.exitCode()).toBe(0)
  })

  it("perstack run --sandbox docker: every Expert in a container of its own", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const result = await stage.shell(tour(block(HERE.docker)), checkout, { ANTHROPIC_BASE_URL: llm.hostUrl })
    expect(result.code, result.stderr).toBe(0)
    const started = events(result.stdout).filter((event) => event.type === "sandboxStarted")
    expect(started.map((event) => event.expertKey)).toEqual([
      "fitness-assistant",
      "pro-trainer",
      "fitness-assistant",
    ])
    expect(new Set(started.map((event) => event.backend))).toEqual(new Set(["docker"]))
  })
})

describe("Perstack itself in a container, and behind HTTP", () => {
  it("docker run perstack/perstack: the job in the container, the workspace mounted", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const user = await stage.dir(
      "container",
      {
        "ws/perstack.toml": block(HERE.toml),
        "ws/.env": `ANTHROPIC_BASE_URL=${llm.containerUrl}\n`,
      },
      { mounted: true },
    )
    const result = await stage.shell(lines(block(HERE.exportKey), block(HERE.container)), user)
    expect(result.code, result.stderr).toBe(0)
    const list = events(result.stdout)
    expect(startedExperts(list)).toEqual(["fitness-assistant", "pro-trainer", "fitness-assistant"])
    expect(await readFile(path.join(user, "ws/fitness-log.md"), "utf8")).toContain("Menu from pro-trainer")
    expect(await readdir(path.join(user, "ws/perstack/jobs"))).toHaveLength(1)
    // The key reached the container through `-e ANTHROPIC_API_KEY`, from the reader's shell.
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-ant-...")
  })

  describe("perstack serve (adapted: a free port instead of 8080)", () => {
    let server: ChildProcess | undefined
    const apiKey = "psk-readme-test-0123456789abcdef"

    afterAll(async () => {
      if (server && server.exitCode === null && server.pid) {
        process.kill(-server.pid, "SIGTERM")
        await new Promise((resolve) => server?.once("exit", resolve))
      }
    })

    it("POST /api/v1/jobs starts the job; its SSE stream carries the events, then complete", async () => {
      await using llm = await stage.scripted(await recordedFitness())
      await writeFile(path.join(example, "keys.jsonl"), `{"name":"my-app","sha256":"${sha256Hex(apiKey)}"}\n`)
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      // The tour's shell, left running in the background as a reader leaves the server running in a terminal.
      server = spawn("bash", ["-c", tour(block(HERE.serve).replace("--port 8080", `--port ${port}`))], {
        cwd: checkout,
        env: stage.env({ ANTHROPIC_BASE_URL: llm.hostUrl }),
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      })
      let stderr = ""
      server.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
      })
      for (let tries = 0; ; tries++) {
        const up = await fetch(`${url}/healthz`).then(
          (response) => response.ok,
          () => false,
        )
        if (up) break
        if (tries > 400 || server.exitCode !== null)
          throw new Error(`perstack serve did not come up: ${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }
      const started = await fetch(`${url}/api/v1/jobs`, {
        method: "POST",
        headers,
        body: JSON.stringify({ expertKey: "fitness-assistant", query: "Start today's session" }),
      })
      expect(started.status).toBe(202)
      const { job } = ((await started.json()) as { data: { job: { id: string } } }).data
      const stream = await (await fetch(`${url}/api/v1/jobs/${job.id}/stream`, { headers })).text()
      expect(stream).toContain("event: message")
      expect(stream).toContain('"type":"sandboxStarted"')
      expect(stream).toMatch(/event: complete\ndata: \{"job":\{[^\n]*"status":"completed"/)
      expect(await readdir(path.join(example, "perstack-serve"))).not.toHaveLength(0)
    })
  })
})

describe("from TypeScript", () => {
  let program: string

  it("the ts block type-checks against the built package's types (strict, nodenext), in a project of the reader's", async () => {
    // `perstack` resolves from the stage's node_modules; TypeScript and @types/node are the checkout's, as the
    // reader's devDependencies.
    const project = await stage.dir("ts-project", {
      "package.json": '{ "private": true, "type": "module" }\n',
      "tsconfig.json": `${JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          target: "esnext",
          strict: true,
          noEmit: true,
          types: ["node"],
        },
        files: ["index.ts"],
      })}\n`,
      "index.ts": block(HERE.library),
    })
    await mkdir(path.join(project, "node_modules/@types"), { recursive: true })
    await symlink(path.join(repo, "node_modules/@types/node"), path.join(project, "node_modules/@types/node"))
    program = path.join(project, "index.ts")
    const result = await stage.shell(
      `${JSON.stringify(path.join(repo, "node_modules/.bin/tsc"))} -p .`,
      project,
    )
    expect([result.code, result.stdout + result.stderr]).toEqual([0, ""])
  })

  it("the ts block, run with node beside the example's perstack.toml", async () => {
    await using llm = await stage.scripted(await recordedFitness())
    const result = await stage.shell(
      lines(block(HERE.exportKey), `node ${JSON.stringify(program)}`),
      example,
      {
        ANTHROPIC_BASE_URL: llm.hostUrl,
      },
    )
    expect(result.code, result.stderr).toBe(0)
    const printed = result.stdout.trim().split("\n")
    expect(printed).toContain("startRun")
    expect(printed.filter((type) => type === "sandboxStarted")).toHaveLength(3)
    expect(printed.at(-1)).toMatch(/^completed .*fitness-log\.md/)
  })
})
