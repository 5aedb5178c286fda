// A job store written by protocol 1 (fixtures/v1-store, made by the v1 code and frozen), read and continued by this
// version: every `perstack log` view prints what v1 printed (fixtures/v1-views), and the job goes on from it.
import { cp, readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { checkpointSchema } from "../../runtime/protocol/checkpoint.ts"
import { logCommand } from "../cli/log-command.ts"
import { rebuildRunsFromEvents } from "../job-tree/rebuild-from-events.ts"
import type { LogOptions } from "../log/log-options.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob, type TestWorkspace } from "../testing/job-harness.ts"

const FIXTURE = path.join(import.meta.dirname, "fixtures", "v1-store")
const VIEWS = path.join(import.meta.dirname, "fixtures", "v1-views")
const JOB = "job_v1store"
/** the coordinator's last checkpoint: completed, five messages */
const LAST = "01m974410yg39f73ypj0n2"
const EXPERTS = `[experts."lead"]\ninstruction = "Coordinate."\ndelegates = ["worker"]\n\n[experts."worker"]\ninstruction = "Work."\n`

async function v1Workspace(): Promise<TestWorkspace> {
  const ws = await makeJobWorkspace()
  await cp(FIXTURE, path.join(ws.dir, "perstack"), { recursive: true })
  return ws
}

async function log(ws: TestWorkspace, options: LogOptions): Promise<string> {
  let stdout = ""
  const code = await logCommand(options, {
    cwd: ws.dir,
    env: {},
    interactive: false,
    stdout: (text) => {
      stdout += text
    },
    stderr: () => {},
  })
  expect(code).toBe(0)
  return stdout.split(ws.dir).join("<workspace>")
}

describe("a store written by protocol 1", () => {
  it("shows in every perstack log view exactly what v1 showed", async () => {
    await using ws = await v1Workspace()
    const views: Record<string, LogOptions> = {
      text: {},
      verbose: { verbose: true, take: 0 },
      summary: { summary: true },
      tree: { tree: true },
      json: { json: true, take: 0 },
      "json-pretty": { json: true, pretty: true, take: 0 },
      "checkpoint-messages": { checkpoint: LAST, messages: true },
      "checkpoint-messages-verbose": { checkpoint: LAST, messages: true, verbose: true },
      "checkpoint-json": { checkpoint: LAST, json: true, pretty: true },
    }
    for (const [name, options] of Object.entries(views)) {
      expect(await log(ws, options), name).toBe(await readFile(path.join(VIEWS, `${name}.txt`), "utf8"))
    }
  })

  it("reads its checkpoints whole and rebuilds its tree from the events", async () => {
    await using ws = await v1Workspace()
    const files = await readdir(path.join(ws.store.paths.checkpoints(JOB)))
    for (const file of files) {
      const stored = checkpointSchema.parse(
        JSON.parse(await readFile(path.join(ws.store.paths.checkpoints(JOB), file), "utf8")),
      )
      expect(await ws.store.readCheckpoint(JOB, stored.id)).toEqual(stored)
    }
    expect((await ws.store.listCheckpoints(JOB)).map((checkpoint) => checkpoint.messages.length)).toEqual([
      3, 4, 5, 4, 5,
    ])
    const tree = await rebuildRunsFromEvents(ws.store, JOB)
    expect(tree.map((node) => [node.expertKey, node.status, node.checkpointIds.length])).toEqual([
      ["lead", "stoppedByDelegate", 1],
      ["worker", "completed", 2],
      ["lead", "completed", 2],
    ])
  })

  it("is continued with a follow-up query: the new checkpoint continues the v1 one, the model sees it all", async () => {
    await using ws = await v1Workspace()
    await using llm = await startExpertScript({
      lead: [(request) => ({ text: `Again: ${lastInput(request)}` })],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, EXPERTS),
      expertKey: "lead",
      query: "And now?",
      continueJob: { jobId: JOB },
    })
    expect(result).toMatchObject({ status: "completed", text: "Again: And now?" })
    const v1 = await ws.store.readCheckpoint(JOB, LAST)
    const record = await ws.store.readCheckpointFile(JOB, result.checkpoint?.id ?? "")
    expect(record && "history" in record && record.history).toMatchObject({
      checkpointId: LAST,
      messageCount: 5,
    })
    expect(result.checkpoint?.messages.slice(0, 5)).toEqual(v1?.messages)
    expect(result.checkpoint?.messages.map((message) => message.type).slice(5)).toEqual([
      "userMessage",
      "expertMessage",
    ])
    const [request] = llm.requests
    const sent = (request?.body as { messages?: unknown[] } | undefined)?.messages
    // system, the first query, the delegate call and its result, the answer, the new query
    expect(sent).toHaveLength(6)
  })
})
