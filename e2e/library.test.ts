// The package as a TypeScript library: an application imports `perstack`, `perstack/protocol` and `perstack/react`, typed.
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")
const exec = promisify(execFile)

describe("perstack as a library", () => {
  let app: string
  beforeAll(async () => {
    app = await mkdtemp(path.join(tmpdir(), "perstack-app-"))
    await mkdir(path.join(app, "node_modules/@types"), { recursive: true })
    await symlink(repo, path.join(app, "node_modules/perstack"))
    await symlink(path.join(repo, "node_modules/@types/node"), path.join(app, "node_modules/@types/node"))
    // The application's own React (and Ink, to render it in a terminal).
    for (const name of ["react", "@types/react", "ink", "ink-testing-library"])
      await symlink(path.join(repo, "node_modules", name), path.join(app, "node_modules", name))
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

  const typecheck = async (source: string) => {
    await writeFile(path.join(app, "index.ts"), source)
    return exec(path.join(repo, "node_modules/.bin/tsc"), ["-p", app]).then(
      () => "",
      (error: { stdout: string }) => error.stdout,
    )
  }

  it("type-checks an application using run() and the protocol schemas", async () => {
    const errors = await typecheck(`import { run } from "perstack"
import { perstackEventSchema, type Checkpoint } from "perstack/protocol"
const result = await run({ expert: "writer", query: "hi", maxSteps: 10, onEvent: (event) => { perstackEventSchema.parse(event) } })
const checkpoint: Checkpoint | undefined = result.checkpoint
console.log(result.status, result.text, checkpoint?.stepNumber)
`)
    expect(errors).toBe("")
  })

  it("types a failure's code as one of the product's error codes", async () => {
    const errors = await typecheck(`import { type ErrorCode, PerstackError, run } from "perstack"
try { await run({ expert: "writer", query: "hi" }) } catch (error) {
  if (error instanceof PerstackError) { const code: ErrorCode = error.code; if (code === "expert.notfound") console.log(code) }
}
`)
    // A misspelt code is a compile error: the codes are a union, not strings.
    expect(errors).toMatch(
      /index\.ts\(3,81\): error TS2367: This comparison appears to be unintentional .* '"expert\.notfound"' have no overlap/,
    )
  })

  it("catches a misuse at compile time", async () => {
    const errors = await typecheck(`import { run } from "perstack"
await run({ expert: "writer", query: "hi", maxSteps: "ten" })
`)
    // Column 44 is `maxSteps`.
    expect(errors).toMatch(
      /index\.ts\(2,44\): error TS2322: Type 'string' is not assignable to type 'number'/,
    )
  })

  it("runs: the bundle imports and refuses a missing Expert with a clear error", async () => {
    await writeFile(
      path.join(app, "main.mjs"),
      `import { ERROR_CODES, PerstackError, run } from "perstack"
try { await run({ expert: "nobody", query: "hi", config: '[experts."writer"]\\ninstruction = "Write."\\n', env: {} }) }
catch (error) { console.log(error instanceof PerstackError, ERROR_CODES.includes(error.code), error.code, error.message) }
`,
    )
    const { stdout } = await exec(process.execPath, [path.join(app, "main.mjs")], { cwd: app })
    expect(stdout.trim()).toBe(
      'true true expert.notFound no Expert "nobody" in perstack.toml (defined: writer)',
    )
  })

  it("type-checks an application using perstack/react's hooks with the API client", async () => {
    const errors = await typecheck(`import { createElement } from "react"
import { type Activity, createApiClient, useJobStream } from "perstack/react"
const client = createApiClient({ baseUrl: "http://localhost:8080", apiKey: "psk-x" })
export function JobView({ jobId }: { jobId: string }) {
  const { activities, status, error, isDone } = useJobStream({ jobId, client })
  const line = (activity: Activity) => (activity.type === "complete" ? activity.text : activity.type)
  return createElement("pre", null, [status, error?.code, isDone, ...activities.map(line)].join("\\n"))
}
`)
    expect(errors).toBe("")
  })

  it("runs perstack/react's bundle with the application's React: useRun renders pushed events", async () => {
    await writeFile(
      path.join(app, "react.mjs"),
      `import { render } from "ink-testing-library"
import { Text } from "ink"
import { createElement } from "react"
import { useRun } from "perstack/react"
let run
function View() {
  run = useRun()
  return createElement(Text, null, run.activities.map((a) => a.type + ": " + a.text).join(" | "))
}
const view = render(createElement(View))
const base = { protocolVersion: 2, jobId: "j", runId: "r", expertKey: "writer", stepNumber: 1, timestamp: 0 }
const checkpoint = { protocolVersion: 2, id: "c", jobId: "j", runId: "r", status: "init", stepNumber: 1,
  expert: { key: "writer", name: "writer", version: "1.0.0" },
  usage: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, totalTokens: 0, cachedInputTokens: 0 },
  history: { messageCount: 0, newMessages: [] } }
run.addEvent({ ...base, id: "e1", type: "startRun", initialCheckpoint: checkpoint,
  inputMessages: [{ id: "m", type: "userMessage", contents: [{ type: "textPart", id: "t", text: "Write a poem" }] }] })
await new Promise((resolve) => setTimeout(resolve, 100))
console.log(view.lastFrame())
view.unmount()
`,
    )
    const { stdout } = await exec(process.execPath, [path.join(app, "react.mjs")], { cwd: app })
    expect(stdout.trim()).toBe("query: Write a poem")
  })
})
