// The contract every sandbox backend passes: one suite, run by each backend's own test file.
import { randomUUID } from "node:crypto"
import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { type SandboxEvent, sandboxEventSchema } from "../../runtime/protocol/events/index.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import {
  type ScriptedStep,
  startScriptedLlmServer,
} from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import type { Sandbox, SandboxBackend } from "../sandbox/sandbox.ts"

export interface ContractEnvironment {
  backend: SandboxBackend
  /** a fresh workspace on the host, removed on dispose */
  workspace(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }>
  /** where the scripted LLM server listens so the sandbox can reach it */
  llmHost: string
  /** the scripted LLM server's base URL as a sandbox reaches it */
  llmUrlFor(hostUrl: string): string
}

/** Reads a sandbox's output to its end, acknowledging each stored callTools as the orchestrator does. */
async function collect(sandbox: Sandbox): Promise<{ events: SandboxEvent[]; raw: string }> {
  // Framed on bytes, decoded per line: a chunk may end inside a multibyte character.
  const chunks: Buffer[] = []
  let pending = Buffer.alloc(0)
  const events: SandboxEvent[] = []
  for await (const chunk of sandbox.stdout) {
    chunks.push(Buffer.from(chunk))
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
  return { events, raw: Buffer.concat(chunks).toString("utf8") }
}

export function describeBackendContract(name: string, setup: () => Promise<ContractEnvironment>) {
  describe(`sandbox backend contract: ${name}`, () => {
    const start = async (
      steps: ScriptedStep[],
      change: (spec: RunSpec) => RunSpec = (spec) => spec,
      prepare: (workspace: string) => Promise<void> = async () => {},
    ) => {
      const env = await setup()
      const ws = await env.workspace()
      await prepare(ws.dir)
      const llm = await startScriptedLlmServer({ steps, host: env.llmHost })
      // A run id of its own per test: a backend's objects named after it (Kubernetes Jobs) may outlive the test a while.
      const runId = `run-${randomUUID().slice(0, 8)}`
      const spec = change(buildRunSpec({ workspace: ws.dir, llmUrl: env.llmUrlFor(llm.url), runId }))
      const sandbox = await env.backend.start({
        spec,
        env: { OPENAI_API_KEY: "sk-contract-key", PATH: "/usr/local/bin:/usr/bin:/bin" },
        workspace: ws.dir,
        labels: { jobId: spec.jobId, runId: spec.runId },
      })
      return {
        sandbox,
        llm,
        ws,
        async [Symbol.asyncDispose]() {
          await sandbox[Symbol.asyncDispose]()
          await llm.close()
          await ws[Symbol.asyncDispose]()
        },
      }
    }

    it("runs the RunSpec, streams every event up to the terminal one, and ends completed", async () => {
      await using run = await start([{ text: "hello from the sandbox" }])
      const { events } = await collect(run.sandbox)
      const exit = await run.sandbox.wait()
      expect(events.map((event) => event.type)).toEqual([
        "initializeRuntime",
        "startRun",
        "startGeneration",
        "completeRun",
      ])
      expect(exit).toMatchObject({ exitCode: 0, reason: "completed" })
      expect(run.sandbox.backend).toBe(name)
    })

    it("works in the workspace: a file the Expert writes is there on the host", async () => {
      await using run = await start([
        { toolCalls: [{ name: "writeTextFile", arguments: { path: "out/hello.txt", text: "hi" } }] },
        { text: "done" },
      ])
      await collect(run.sandbox)
      await run.sandbox.wait()
      expect(await readFile(path.join(run.ws.dir, "out/hello.txt"), "utf8")).toBe("hi")
    })

    it("gives the sandbox only the environment it was handed, and the RunSpec nowhere on its command line", async () => {
      process.env.PERSTACK_CONTRACT_HOST_SECRET = "host-secret-value"
      try {
        await using run = await start([
          // The runtime's own environment, read by a command it starts (exec filters its own env, not its parent's).
          {
            toolCalls: [
              {
                name: "exec",
                arguments: {
                  command: "bash",
                  args: [
                    "-c",
                    "tr '\\0' '\\n' < /proc/$PPID/environ; echo; tr '\\0' ' ' < /proc/$PPID/cmdline",
                  ],
                },
              },
            ],
          },
          { text: "done" },
        ])
        const { events } = await collect(run.sandbox)
        await run.sandbox.wait()
        const resolved = events.find((event) => event.type === "resolveToolResults")
        const output = JSON.stringify(resolved)
        expect(output).toContain("OPENAI_API_KEY=sk-contract-key")
        expect(output).not.toContain("host-secret-value")
        expect(output).not.toContain("instruction")
      } finally {
        delete process.env.PERSTACK_CONTRACT_HOST_SECRET
      }
    })

    it("stops gracefully on request: the run ends with a resumable cancelled checkpoint", async () => {
      await using run = await start([{ type: "stall" }])
      const events: SandboxEvent[] = []
      for await (const chunk of run.sandbox.stdout) {
        for (const line of Buffer.from(chunk).toString("utf8").split("\n").filter(Boolean)) {
          const event = sandboxEventSchema.parse(JSON.parse(line))
          events.push(event)
          if (event.type === "startGeneration") void run.sandbox.stop({ graceMs: 5_000 })
        }
      }
      const exit = await run.sandbox.wait()
      expect(events.at(-1)).toMatchObject({
        type: "stopRunByError",
        checkpoint: { status: "stoppedByCancel" },
      })
      expect(exit.reason).toBe("cancelled")
    })

    it("streams a large event of multibyte text intact, whatever the chunks it travels in", async () => {
      // Under readTextFile's 256 KiB cap, and far over any pipe's or frame's size: the line arrives in many pieces.
      const text = "日本語のメモ, ünïcødé ✓\n".repeat(5_000)
      await using run = await start(
        [{ toolCalls: [{ name: "readTextFile", arguments: { path: "notes.md" } }] }, { text: "done" }],
        undefined,
        (workspace) => writeFile(path.join(workspace, "notes.md"), text),
      )
      const { events, raw } = await collect(run.sandbox)
      await run.sandbox.wait()
      const resolved = events.find((event) => event.type === "resolveToolResults")
      const part = resolved?.type === "resolveToolResults" ? resolved.toolResults[0]?.result[0] : undefined
      const content = part?.type === "textPart" ? (JSON.parse(part.text) as { content?: string }).content : ""
      // Compared without toEqual: a failure must not print a quarter of a megabyte.
      expect(raw.includes("\uFFFD")).toBe(false)
      expect(content?.length).toBe(text.length)
      expect(content === text).toBe(true)
    })

    it("stops at once when given no grace: cancelled, its output ended, and a second stop is harmless", async () => {
      await using run = await start([{ type: "stall" }])
      let seen = ""
      let stopping: Promise<unknown> | undefined
      for await (const chunk of run.sandbox.stdout) {
        seen += Buffer.from(chunk).toString("latin1")
        if (!stopping && seen.includes('"startGeneration"')) {
          stopping = Promise.all([run.sandbox.stop({ graceMs: 0 }), run.sandbox.stop({ graceMs: 0 })])
        }
      }
      await stopping
      const exit = await run.sandbox.wait()
      expect(exit.reason).toBe("cancelled")
      await run.sandbox.stop()
    })

    it("reports a sandbox that fails: its exit code and the end of its stderr", async () => {
      await using run = await start([], (spec) => ({ ...spec, limits: { ...spec.limits, stepBudget: -1 } }))
      const { raw } = await collect(run.sandbox)
      const exit = await run.sandbox.wait()
      expect(raw).toBe("")
      expect(exit).toMatchObject({ exitCode: 2, reason: "crashed" })
      expect(exit.stderrTail).toContain("limits.stepBudget")
    })
  })
}
