import { spawn } from "node:child_process"
import { rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { sandboxEventSchema } from "../protocol/events/index.ts"
import { makeWorkspace } from "../testing/run-harness.ts"
import { buildRunSpec } from "../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../testing/scripted-llm/scripted-llm-server.ts"

const bin = path.join(import.meta.dirname, "bin.ts")
const KEY = "sk-live-secret-abcdef123456"

function runtime(
  args: string[],
  options: {
    env?: Record<string, string>
    stdin?: string
    /** write stdin without closing it (the ack channel) */
    keepStdinOpen?: boolean
    onStdout?: (text: string, child: ReturnType<typeof spawn>) => void
  },
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      options.onStdout?.(stdout, child)
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    if (options.keepStdinOpen) child.stdin.write(options.stdin ?? "")
    else child.stdin.end(options.stdin ?? "")
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((line) => sandboxEventSchema.parse(JSON.parse(line)))

describe("perstack-runtime", () => {
  it("prints only protocol events on stdout and exits 0 after the terminal event", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "hello.txt", text: "hi" } }] },
        { text: "Wrote hello.txt" },
      ],
    })
    // The RunSpec file sits outside the workspace (as a sandbox's read-only mount would), removed afterwards.
    const specFile = path.join(ws.dir, "..", `${path.basename(ws.dir)}.spec.json`)
    await writeFile(specFile, JSON.stringify(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url })))
    const result = await runtime([specFile], { env: { OPENAI_API_KEY: KEY } }).finally(() =>
      rm(specFile, { force: true }),
    )
    expect(result.code).toBe(0)
    const events = lines(result.stdout)
    expect(events.at(-1)?.type).toBe("completeRun")
    expect(events[0]?.type).toBe("initializeRuntime")
    expect(result.stdout + result.stderr).not.toContain(KEY)
    expect(llm.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
  })

  it("reads the RunSpec from stdin", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }] })
    const result = await runtime([], {
      env: { OPENAI_API_KEY: KEY },
      stdin: JSON.stringify(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url })),
    })
    expect(result.code).toBe(0)
    expect(lines(result.stdout).map((event) => event.type)).toEqual([
      "initializeRuntime",
      "startRun",
      "startGeneration",
      "completeRun",
    ])
  })

  it("started warm, rehearses while it waits, then prints its own run's events and nothing of the rehearsal", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }, { text: "ok" }] })
    const spec = buildRunSpec({ workspace: ws.dir, llmUrl: llm.url })
    const warm = (delayMs: number) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [bin], {
          cwd: ws.dir,
          env: { PATH: process.env.PATH ?? "", PERSTACK_WARM: "1" },
          stdio: ["pipe", "pipe", "pipe"],
        })
        let stdout = ""
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8")
        })
        // Its run's variables, then its RunSpec: at once (mid-rehearsal), or once it has had time to rehearse.
        setTimeout(
          () =>
            child.stdin.end(`${JSON.stringify({ env: { OPENAI_API_KEY: KEY } })}\n${JSON.stringify(spec)}\n`),
          delayMs,
        )
        child.on("close", (code) => resolve({ code, stdout }))
      })
    for (const delayMs of [0, 1_500]) {
      const result = await warm(delayMs)
      expect(result.code).toBe(0)
      const events = lines(result.stdout)
      expect(events.map((event) => event.type)).toEqual([
        "initializeRuntime",
        "startRun",
        "startGeneration",
        "completeRun",
      ])
      expect(events.every((event) => event.runId === spec.runId && event.jobId === spec.jobId)).toBe(true)
    }
    // Only the runs' own requests reached the model.
    expect(llm.requests).toHaveLength(2)
  })

  it("refuses a malformed RunSpec on stderr, naming the key, with nothing on stdout", async () => {
    const notJson = await runtime(["-"], { stdin: "{ nope" })
    expect(notJson).toMatchObject({ code: 2, stdout: "" })
    expect(notJson.stderr).toMatch(/^perstack-runtime: the RunSpec from stdin is not JSON/)

    const invalid = await runtime([], {
      stdin: JSON.stringify({ protocolVersion: 1, jobId: "j", runId: "r" }),
    })
    expect(invalid).toMatchObject({ code: 2, stdout: "" })
    expect(invalid.stderr).toContain("  expert: ")
    expect(invalid.stderr).toContain("  limits: ")

    const missing = await runtime(["/nonexistent/spec.json"], {})
    expect(missing).toMatchObject({ code: 2, stdout: "" })
    expect(missing.stderr).toContain("cannot read the RunSpec from /nonexistent/spec.json")
  })

  it("fails at once when the provider's key is missing, naming the variable", async () => {
    await using ws = await makeWorkspace()
    const spec = buildRunSpec({ workspace: ws.dir, llmUrl: "http://127.0.0.1:9/v1" })
    const result = await runtime([], { stdin: JSON.stringify(spec) })
    expect(result).toMatchObject({ code: 3, stdout: "" })
    expect(result.stderr).toContain("OPENAI_API_KEY is not set")
  })

  it("on SIGTERM ends the run with a cancelled terminal event and exits 0", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ type: "stall" }] })
    const result = await runtime([], {
      env: { OPENAI_API_KEY: KEY },
      stdin: JSON.stringify(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url })),
      onStdout: (stdout, child) => {
        if (stdout.includes('"startGeneration"') && child.signalCode === null && !child.killed)
          child.kill("SIGTERM")
      },
    })
    expect(result.code).toBe(0)
    expect(lines(result.stdout).at(-1)).toMatchObject({
      type: "stopRunByError",
      checkpoint: { status: "stoppedByCancel" },
    })
  })
})

describe("perstack-runtime with acknowledgements (PERSTACK_ACK=stdin)", () => {
  it("runs a tool only once the orchestrator acknowledged the call, and stops when stdin closes instead", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "side-effect.txt", text: "x" } }] },
        { text: "done" },
      ],
    })
    const spec = `${JSON.stringify(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))}\n`
    // The orchestrator "dies" (closes stdin) right after seeing callTools, without acknowledging it.
    const result = await runtime([], {
      env: { OPENAI_API_KEY: KEY, PERSTACK_ACK: "stdin" },
      stdin: spec,
      keepStdinOpen: true,
      onStdout: (stdout, child) => {
        if (stdout.includes('"callTools"')) child.stdin?.end()
      },
    })
    expect(lines(result.stdout).at(-1)?.type).toBe("callTools")
    expect(result.stderr).toContain("the orchestrator is gone")
    const { readdir } = await import("node:fs/promises")
    expect(await readdir(ws.dir)).toEqual([])
  })
})
