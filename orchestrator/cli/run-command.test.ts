import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { ASKER_EXPERT, configText } from "../testing/job-harness.ts"

const EXPERTS = `[experts."writer"]
instruction = "Write."

${ASKER_EXPERT}`

const perstack = (cwd: string, argv: string[], env: Record<string, string> = {}) =>
  perstackCli(cwd, argv, { OPENAI_API_KEY: "sk-cli-test-key", ...env }).then((result) => ({
    ...result,
    events: result.events(),
  }))

async function withWorkspace(test: (dir: string) => Promise<void>) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-cli-")))
  try {
    await test(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe("perstack run", () => {
  it("prints the job's events as NDJSON, each tagged with job and run, and exits 0 when the coordinator completed", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({ writer: [{ text: "a poem" }, { text: "another" }] })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const result = await perstack(dir, ["run", "writer", "Write a poem", "--sandbox", "local"])
      expect(result.code).toBe(0)
      expect(result.events.map((event) => event.type)).toEqual([
        "sandboxStarted",
        "initializeRuntime",
        "startRun",
        "startGeneration",
        "completeRun",
        "sandboxExited",
      ])
      expect(new Set(result.events.map((event) => `${event.jobId}/${event.runId}`)).size).toBe(1)
      expect(result.stderr).toMatch(/^perstack: job \S+ completed after 1 steps;/)
      expect(result.stdout + result.stderr).not.toContain("sk-cli-test-key")

      const filtered = await perstack(dir, ["run", "writer", "Again", "--filter", "completeRun,startRun"])
      expect(filtered.events.map((event) => event.type)).toEqual(["startRun", "completeRun"])
    }))

  it("exits 4 when waiting for the user, and -i with --continue-job answers", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({
        asker: [
          { toolCalls: [{ id: "q", name: "ask__confirm", arguments: { question: "sure?" } }] },
          { text: "thanks" },
        ],
      })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "asker", "Do it"])
      expect(first.code).toBe(4)
      const jobId = first.events[0]?.jobId ?? ""
      expect(first.stderr).toContain(`perstack run asker --continue-job ${jobId} -i "<answer>"`)
      const second = await perstack(dir, ["run", "asker", "yes", "--continue-job", jobId, "-i"])
      expect(second.code).toBe(0)
    }))

  it("exits 1 when the coordinator failed and 3 when the step budget ran out", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({
        writer: [
          { type: "error", status: 403, message: "model not allowed" },
          { toolCalls: [{ name: "healthCheck", arguments: {} }] },
        ],
      })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const failed = await perstack(dir, ["run", "writer", "Go"])
      expect(failed.code).toBe(1)
      expect(failed.stderr).toContain("model not allowed")
      const limited = await perstack(dir, ["run", "writer", "Go", "--max-steps", "1"])
      expect(limited.code).toBe(3)
    }))

  it("exits 2 with the variable's name when the provider key is missing, printing nothing on stdout", () =>
    withWorkspace(async (dir) => {
      await writeFile(path.join(dir, "perstack.toml"), configText("http://127.0.0.1:9/v1", EXPERTS))
      const result = await perstack(dir, ["run", "writer", "Go"], { OPENAI_API_KEY: "" })
      expect(result).toMatchObject({ code: 2, stdout: "" })
      expect(result.stderr).toContain("OPENAI_API_KEY is not set")
    }))

  it("exits 2 on a bad option value, naming it", () =>
    withWorkspace(async (dir) => {
      const result = await perstack(dir, ["run", "writer", "Go", "--max-steps", "many"])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("--max-steps")
      const filter = await perstack(dir, ["run", "writer", "Go", "--filter", "completeRun,nosuchtype"])
      expect(filter).toMatchObject({ code: 2, stdout: "" })
      expect(filter.stderr).toContain("--filter <types>")
      expect(filter.stderr).toContain('"nosuchtype" is not an event type')
      const typo = await perstack(dir, ["run", "writer", "Go", "--filter", "completRun"])
      expect(typo.stderr).toContain('did you mean "completeRun"?')
    }))
})
