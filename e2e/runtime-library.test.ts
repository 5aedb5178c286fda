// `perstack/runtime` as an application uses it: the seeds' call, word for word, against the built bundle.
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastInput, startExpertScript } from "../orchestrator/testing/expert-script.ts"

const repo = path.resolve(import.meta.dirname, "..")
const exec = promisify(execFile)

/** The seeds' second example, as the docs print it, then what it resolved to. */
const SEEDS_CALL = `import { run } from "perstack/runtime"
const checkpoint = await run({
  setting: {
    model: "claude-sonnet-4-5-20250929",
    providerConfig: { providerName: "anthropic" },
    expertKey: "fitness-assistant",
    input: { text: "Start today's session" },
  },
  eventListener: (event) => { console.log(event.type, event) },
})
`

describe("perstack/runtime, the built bundle", () => {
  let app: string
  beforeAll(async () => {
    if (!existsSync(path.join(repo, "dist/runtime-api.js"))) {
      throw new Error("dist/runtime-api.js is missing: run `npm run build` first")
    }
    app = await mkdtemp(path.join(tmpdir(), "perstack-embed-"))
    await mkdir(path.join(app, "node_modules/@types"), { recursive: true })
    await symlink(repo, path.join(app, "node_modules/perstack"))
    await symlink(path.join(repo, "node_modules/@types/node"), path.join(app, "node_modules/@types/node"))
    await writeFile(path.join(app, "package.json"), '{ "type": "module" }')
    await writeFile(
      path.join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "esnext",
          module: "nodenext",
          strict: true,
          noEmit: true,
          types: ["node"],
        },
      }),
    )
  })
  afterAll(async () => {
    await rm(app, { recursive: true, force: true })
  })

  it("type-checks the seeds' call, and refuses a mistyped setting at compile time", async () => {
    const typecheck = async (source: string) => {
      await writeFile(path.join(app, "index.ts"), source)
      return exec(path.join(repo, "node_modules/.bin/tsc"), ["-p", app]).then(
        () => "",
        (error: { stdout: string }) => error.stdout,
      )
    }
    expect(
      await typecheck(`${SEEDS_CALL}
import type { Checkpoint } from "perstack/runtime"
const last: Checkpoint = checkpoint
console.log(last.status, last.messages.length)
await run({ setting: { providerConfig: { providerName: "fireworks" }, expertKey: "my-expert", input: { text: "Start today's session" } } })
`),
    ).toBe("")
    // Column 63 is `maxSteps`.
    expect(
      await typecheck(`import { run } from "perstack/runtime"
await run({ setting: { expertKey: "x", input: { text: "hi" }, maxSteps: "ten" } })
`),
    ).toMatch(/index\.ts\(2,63\): error TS2322: Type 'string' is not assignable to type 'number'/)
  })

  it("runs the seeds' call in a workspace with perstack.toml and .env: a delegation, to the final checkpoint", async () => {
    await using llm = await startExpertScript({
      "fitness-assistant": [
        { toolCalls: [{ name: "delegate__pro-trainer", arguments: { query: "A 20-minute HIIT plan" } }] },
        (request) => ({ text: `Logged: ${lastInput(request)}` }),
      ],
      "pro-trainer": [{ text: "Burpees 40s on, 20s off, x20" }],
    })
    await writeFile(
      path.join(app, "perstack.toml"),
      `[provider]
providerName = "anthropic"
[provider.setting]
baseUrl = "${llm.url}"

[experts."fitness-assistant"]
description = "Assists users with their fitness journey"
instruction = "Delegate training menus to pro-trainer."
delegates = ["pro-trainer"]

[experts."pro-trainer"]
description = "Suggests training menus"
instruction = "Suggest training menus."
`,
    )
    await writeFile(path.join(app, ".env"), "ANTHROPIC_API_KEY=sk-ant-test\n")
    await writeFile(
      path.join(app, "main.mjs"),
      `${SEEDS_CALL}console.log("RESULT " + JSON.stringify({ status: checkpoint.status, expert: checkpoint.expert.key, last: checkpoint.messages.at(-1) }))\n`,
    )
    const { stdout } = await exec(process.execPath, [path.join(app, "main.mjs")], {
      cwd: app,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      maxBuffer: 64 * 1024 * 1024,
    })
    const result = JSON.parse(
      stdout
        .split("\n")
        .findLast((line) => line.startsWith("RESULT "))
        ?.slice(7) ?? "{}",
    )
    expect(result).toMatchObject({
      status: "completed",
      expert: "fitness-assistant",
      last: {
        type: "expertMessage",
        contents: [{ type: "textPart", text: "Logged: Burpees 40s on, 20s off, x20" }],
      },
    })
    const types = stdout.split("\n").flatMap((line) => /^([a-zA-Z]+) \{/.exec(line)?.[1] ?? [])
    expect(types.filter((type) => ["startRun", "stopRunByDelegate", "completeRun"].includes(type))).toEqual([
      "startRun",
      "stopRunByDelegate",
      "startRun",
      "completeRun",
      "startRun",
      "completeRun",
    ])
    expect(llm.requests.map((request) => (request.body as { model?: string }).model)).toContain(
      "claude-sonnet-4-5-20250929",
    )
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-ant-test")
  })
})
