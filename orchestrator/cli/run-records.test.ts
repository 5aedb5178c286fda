// `perstack run` keeps the job store true: a refused command changes nothing, and a continued job goes on where it was.
import { spawn } from "node:child_process"
import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { hostname, tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText } from "../testing/job-harness.ts"

const EXPERTS = `[experts."writer"]
instruction = "Write."
`

const busy = { toolCalls: [{ name: "healthCheck", arguments: {} }] }

const perstack = (cwd: string, argv: string[]) =>
  perstackCli(cwd, argv, { OPENAI_API_KEY: "sk-cli-test-key" }).then((result) => ({
    ...result,
    events: result.events(),
  }))

async function withWorkspace(test: (dir: string) => Promise<void>) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-records-")))
  try {
    await test(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Every file of the job store with its content: what a refused command must leave as it was. */
async function storeSnapshot(dir: string): Promise<Record<string, string>> {
  const root = path.join(dir, "perstack", "jobs")
  const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) =>
    entry.isFile(),
  )
  const entries = await Promise.all(
    files.map(async (entry) => {
      const file = path.join(entry.parentPath, entry.name)
      return [path.relative(root, file), await readFile(file, "utf8")] as const
    }),
  )
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)))
}

const jobJson = async (dir: string, jobId: string) =>
  JSON.parse(await readFile(path.join(dir, "perstack", "jobs", jobId, "job.json"), "utf8")) as {
    status: string
    maxSteps: number
    totalSteps: number
  }

describe("perstack run: records that stay true", () => {
  it("continues a job stopped by the step budget without a query, given a larger --max-steps", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({ writer: [busy, busy, { text: "the poem, at last" }] })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "writer", "Write a poem", "--max-steps", "1"])
      expect(first.code).toBe(3)
      const jobId = first.events[0]?.jobId ?? ""
      const second = await perstack(dir, ["run", "writer", "--continue-job", jobId, "--max-steps", "5"])
      expect(second.stderr).not.toContain("give a query")
      expect(second.code).toBe(0)
      expect(second.events.find((event) => event.type === "completeRun")).toMatchObject({
        text: "the poem, at last",
      })
      // It picked up the conversation where it stopped: the model saw the first step's tool call and result.
      const resumed = llm.byExpert("writer")[1]?.body as { messages: Array<{ role: string }> }
      expect(resumed.messages.map((message) => message.role)).toContain("tool")
      expect(await jobJson(dir, jobId)).toMatchObject({ status: "completed", maxSteps: 5, totalSteps: 3 })
    }))

  it("refuses to continue a job that used its whole budget with the same --max-steps, changing nothing", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({ writer: [busy] })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "writer", "Write a poem", "--max-steps", "1"])
      const jobId = first.events[0]?.jobId ?? ""
      const before = await storeSnapshot(dir)
      const again = await perstack(dir, ["run", "writer", "--continue-job", jobId, "--max-steps", "1"])
      expect(again).toMatchObject({ code: 2, stdout: "" })
      expect(again.stderr).toContain(`job ${jobId} has taken 1 of its 1 steps (--max-steps)`)
      expect(await storeSnapshot(dir)).toEqual(before)
    }))

  it("a refused --continue-job (no query for a completed job, an unknown --resume-from) changes nothing on disk", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({ writer: [{ text: "a poem" }] })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "writer", "Write a poem"])
      expect(first.code).toBe(0)
      const jobId = first.events[0]?.jobId ?? ""
      const before = await storeSnapshot(dir)

      const noQuery = await perstack(dir, ["run", "writer", "--continue-job", jobId, "--max-steps", "7"])
      expect(noQuery).toMatchObject({ code: 2, stdout: "" })
      expect(noQuery.stderr).toContain("give a query to continue it with")
      expect(await storeSnapshot(dir)).toEqual(before)

      const unknown = await perstack(dir, [
        "run",
        "writer",
        "More",
        "--continue-job",
        jobId,
        "--resume-from",
        "nosuchcheckpoint",
      ])
      expect(unknown).toMatchObject({ code: 2, stdout: "" })
      expect(unknown.stderr).toContain(`no checkpoint nosuchcheckpoint in job ${jobId}`)
      expect(await storeSnapshot(dir)).toEqual(before)

      const notWaiting = await perstack(dir, ["run", "writer", "yes", "--continue-job", jobId, "-i"])
      expect(notWaiting).toMatchObject({ code: 2, stdout: "" })
      expect(notWaiting.stderr).toContain("is not waiting for an answer")
      expect(await storeSnapshot(dir)).toEqual(before)
      expect(await jobJson(dir, jobId)).toMatchObject({ status: "completed", maxSteps: 100 })
    }))

  it("refuses --job-id of an existing job instead of merging two executions into one, and continues it when asked", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({ writer: [{ text: "a poem" }, { text: "a second poem" }] })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "writer", "Write a poem", "--job-id", "poems"])
      expect(first.code).toBe(0)
      const before = await storeSnapshot(dir)
      const again = await perstack(dir, ["run", "writer", "Another", "--job-id", "poems"])
      expect(again).toMatchObject({ code: 2, stdout: "" })
      expect(again.stderr).toContain("job poems already exists")
      expect(again.stderr).toContain("--continue-job poems")
      expect(await storeSnapshot(dir)).toEqual(before)
      expect(llm.byExpert("writer")).toHaveLength(1)

      const continued = await perstack(dir, [
        "run",
        "writer",
        "Another",
        "--job-id",
        "poems",
        "--continue-job",
        "poems",
      ])
      expect(continued.code).toBe(0)
      expect(new Set(continued.events.map((event) => event.jobId))).toEqual(new Set(["poems"]))
      const other = await perstack(dir, [
        "run",
        "writer",
        "Another",
        "--job-id",
        "verses",
        "--continue-job",
        "poems",
      ])
      expect(other.code).toBe(2)
      expect(other.stderr).toContain("--job-id verses names a new job")
    }))

  it("exits 2 on an invalid job id, as for any bad argument", () =>
    withWorkspace(async (dir) => {
      await writeFile(path.join(dir, "perstack.toml"), configText("http://127.0.0.1:9/v1", EXPERTS))
      const result = await perstack(dir, ["run", "writer", "Go", "--job-id", "../escape"])
      expect(result).toMatchObject({ code: 2, stdout: "" })
      expect(result.stderr).toContain('invalid job id "../escape"')
    }))

  it("takes over a job.lock whose pid now belongs to another process, or was written before a reboot", () =>
    withWorkspace(async (dir) => {
      await using llm = await startExpertScript({
        writer: [{ text: "a poem" }, { text: "a second" }, { text: "a third" }],
      })
      await writeFile(path.join(dir, "perstack.toml"), configText(llm.url, EXPERTS))
      const first = await perstack(dir, ["run", "writer", "Write a poem"])
      const jobId = first.events[0]?.jobId ?? ""
      const lockFile = path.join(dir, "perstack", "jobs", jobId, "job.lock")
      const bootId = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim()
      // A live process that is not the lock's holder: the holder died and its pid went to this one.
      const other = spawn("sleep", ["30"], { stdio: "ignore" })
      try {
        const started = startTimeOf(await readFile(`/proc/${other.pid}/stat`, "utf8"))
        const lock = (fields: object) =>
          writeFile(
            lockFile,
            JSON.stringify({ pid: other.pid, host: hostname(), since: Date.now(), ...fields }),
          )

        await lock({ bootId, startTime: started })
        const before = await storeSnapshot(dir)
        const held = await perstack(dir, ["run", "writer", "More", "--continue-job", jobId])
        expect(held).toMatchObject({ code: 2, stdout: "" })
        expect(held.stderr).toContain(`job ${jobId} is being written by process ${other.pid}`)
        expect(await storeSnapshot(dir)).toEqual(before)

        await lock({ bootId, startTime: String(Number(started) - 1) })
        const reused = await perstack(dir, ["run", "writer", "More", "--continue-job", jobId])
        expect(reused.stderr).not.toContain("is being written by")
        expect(reused.code).toBe(0)

        await lock({ bootId: "an-earlier-boot", startTime: started })
        const rebooted = await perstack(dir, ["run", "writer", "More", "--continue-job", jobId])
        expect(rebooted.code).toBe(0)
      } finally {
        other.kill()
      }
    }))
})

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
function startTimeOf(stat: string): string {
  return (
    stat
      .slice(stat.lastIndexOf(")") + 1)
      .trim()
      .split(/\s+/)[19] ?? ""
  )
}
