// Chaos for `perstack serve`: the server killed with SIGKILL mid-job, then started again on the same --root. The
// new server must resume the job by itself (no client `continue`), reaping what the dead one left running.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { createApiClient } from "../orchestrator/client/api-client.ts"
import { sha256Hex } from "../orchestrator/serve/api-keys.ts"
import { startExpertScript } from "../orchestrator/testing/expert-script.ts"
import { configText, RUNTIME_SOURCE } from "../orchestrator/testing/job-harness.ts"

const BIN = path.resolve(import.meta.dirname, "../orchestrator/cli/bin.ts")
const KEY = "psk-chaos-serve-0123456789"

interface ServeProcess {
  child: ChildProcess
  url: string
  stderr: () => string
}

/** `perstack serve` as its own process, on a free port; resolves once it listens. */
async function startServe(dir: string, root: string): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--root", root, "--port", "0", "--api-keys-file", "keys.jsonl", "--max-retries", "0"],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OPENAI_API_KEY: "sk-chaos-serve-key",
        PERSTACK_RUNTIME_ENTRY: RUNTIME_SOURCE,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  )
  let stderr = ""
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(stderr)
      if (match?.[1]) resolve(match[1])
    })
    child.once("exit", (code) => reject(new Error(`perstack serve exited (${code}): ${stderr}`)))
  })
  return { child, url, stderr: () => stderr }
}

async function stop(serve: ServeProcess): Promise<void> {
  if (serve.child.exitCode !== null || serve.child.signalCode !== null) return
  const exited = new Promise((resolve) => serve.child.once("exit", resolve))
  serve.child.kill("SIGTERM")
  await exited
}

describe("chaos: perstack serve", () => {
  it("after kill -9 mid-job, the restarted server resumes the job by itself, to its answer", async () => {
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-chaos-serve-")))
    const root = path.join(dir, "root")
    let first: ServeProcess | undefined
    let second: ServeProcess | undefined
    try {
      // The first generation hangs (the server dies meanwhile); the resumed run gets the answer.
      await using llm = await startExpertScript({
        writer: [{ text: "never delivered", delayMs: 60_000 }, { text: "written after the restart" }],
      })
      await writeFile(
        path.join(dir, "perstack.toml"),
        configText(llm.url, '[experts."writer"]\ninstruction = "Write."\n'),
      )
      await writeFile(
        path.join(dir, "keys.jsonl"),
        `${JSON.stringify({ name: "chaos", sha256: sha256Hex(KEY) })}\n`,
      )

      first = await startServe(dir, root)
      const started = await createApiClient({ baseUrl: first.url, apiKey: KEY }).jobs.start({
        expertKey: "writer",
        query: "Write a poem",
      })
      if (!started.ok) throw new Error(started.error.message)
      const jobId = started.data.data.job.id
      await expect.poll(() => llm.requests.length, { timeout: 30_000 }).toBe(1)
      const exited = new Promise((resolve) => first?.child.once("exit", resolve))
      first.child.kill("SIGKILL")
      await exited
      const jobFile = path.join(root, "workspaces", jobId, "perstack", "jobs", jobId, "job.json")
      expect(JSON.parse(await readFile(jobFile, "utf8"))).toMatchObject({ status: "proceeding" })

      second = await startServe(dir, root)
      const client = createApiClient({ baseUrl: second.url, apiKey: KEY })
      // No `continue` from the client: following the stream is all it does.
      const stream = await client.jobs.stream(jobId)
      if (!stream.ok) throw new Error(stream.error.message)
      const types: string[] = []
      for await (const event of stream.data.events) types.push(event.type)
      const end = await stream.data.result
      expect(end.ok && end.data.job.status).toBe("completed")
      expect(types).toContain("completeRun")
      expect(second.stderr()).toContain("resuming 1 jobs that were running when the previous server stopped")
      expect(llm.requests).toHaveLength(2)
      const job = JSON.parse(await readFile(jobFile, "utf8")) as { status: string }
      expect(job.status).toBe("completed")
    } finally {
      if (second) await stop(second)
      if (first) await stop(first)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
