import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { JobStore } from "./job-store.ts"

const fixture = path.resolve(import.meta.dirname, "../../runtime/protocol/fixtures/v1")

describe("JobStore", () => {
  it("skips a torn last line (no newline: a crash mid-write) with a warning, and trims it before appending", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-store-"))
    try {
      const warnings: string[] = []
      const store = new JobStore(root, (message) => warnings.push(message))
      const [first = "", second = ""] = (await readFile(path.join(fixture, "events.ndjson"), "utf8")).split(
        "\n",
      )
      const file = store.paths.eventsFile("job_01fixture", "run_01coord")
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, `${first}\n${second.slice(0, 40)}`)
      const read: string[] = []
      for await (const event of store.readEvents("job_01fixture", "run_01coord")) read.push(event.type)
      expect(read).toEqual(["sandboxStarted"])
      expect(warnings).toEqual([`${file}: skipped a torn last line left by a crash`])

      const log = store.eventLog("job_01fixture", "run_01coord")
      await log.appendLine(second)
      await log.close()
      expect(await readFile(file, "utf8")).toBe(`${first}\n${second}\n`)
      expect(warnings[1]).toBe(`${file}: removed a torn last line (40 bytes) left by a crash`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("reads a run's events back, and names the file and line of one that was tampered with", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-store-"))
    try {
      const store = new JobStore(root)
      const [first = "", second = ""] = (await readFile(path.join(fixture, "events.ndjson"), "utf8")).split(
        "\n",
      )
      const file = store.paths.eventsFile("job_01fixture", "run_01coord")
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, `${first}\r\n${second}\n{"type": "startRun"\n`)
      const read: string[] = []
      const reading = (async () => {
        for await (const event of store.readEvents("job_01fixture", "run_01coord")) read.push(event.type)
      })()
      await expect(reading).rejects.toThrow(`${file}:3: not JSON`)
      expect(read).toEqual(["sandboxStarted", "initializeRuntime"])
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("writes records atomically and reads them back parsed, refusing ids that would climb out of the store", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-store-"))
    try {
      const store = new JobStore(root)
      const job = JSON.parse(await readFile(path.join(fixture, "job.json"), "utf8"))
      await store.writeJob(job)
      expect(await store.readJob(job.id)).toEqual(job)
      expect(await store.listJobs()).toEqual([job])
      await expect(store.readJob("../../etc")).rejects.toThrow('invalid job id "../../etc"')
      await writeFile(store.paths.jobFile(job.id), '{"protocolVersion": 1, "id": 5}')
      await expect(store.readJob(job.id)).rejects.toThrow(`${store.paths.jobFile(job.id)}: id:`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it("lets one writer hold a job, and takes over a lock left by a dead process", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "perstack-store-"))
    try {
      const store = new JobStore(root)
      const lock = await store.lock("j1")
      await expect(store.lock("j1")).rejects.toThrow(/job j1 is being written by process \d+/)
      await lock.release()
      // A lock file naming a process that no longer exists (pid 2^22+ is above Linux's default pid_max).
      await writeFile(
        store.paths.lockFile("j1"),
        JSON.stringify({ pid: 4_194_400, host: (await import("node:os")).hostname(), since: 0 }),
      )
      const taken = await store.lock("j1")
      await taken.release()
      // From another host (a restarted pod): refused while its heartbeat is fresh, taken over once it went quiet.
      const other = JSON.stringify({ pid: 1, host: "another-host", since: 0 })
      await writeFile(store.paths.lockFile("j1"), other)
      await expect(store.lock("j1")).rejects.toThrow("job j1 is being written by process 1 on another-host")
      const quiet = new Date(Date.now() - 60_000)
      await utimes(store.paths.lockFile("j1"), quiet, quiet)
      const afterQuiet = await store.lock("j1")
      await afterQuiet.release()
      // Empty (its writer died between creating and filling it): refused while fresh, taken over once it is old.
      await writeFile(store.paths.lockFile("j1"), "")
      await expect(store.lock("j1")).rejects.toThrow("job j1 is being written by another process")
      await utimes(store.paths.lockFile("j1"), quiet, quiet)
      const afterEmpty = await store.lock("j1")
      await afterEmpty.release()
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
