// Checkpoint files of protocol 2 name the checkpoint whose conversation they continue: read back whole through the
// chain, branches included, and a chain that names a missing checkpoint or loops is a corrupt store, said so.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { CheckpointHistory, CheckpointRecord } from "../../runtime/protocol/checkpoint.ts"
import type { Message } from "../../runtime/protocol/message.ts"
import { JobStore } from "./job-store.ts"

const JOB = "job-chain"
const user = (id: string): Message => ({
  type: "userMessage",
  id,
  contents: [{ type: "textPart", id: `${id}p`, text: id }],
})
const usage = { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, totalTokens: 0, cachedInputTokens: 0 }
const record = (id: string, stepNumber: number, history: CheckpointHistory): CheckpointRecord => ({
  protocolVersion: 2,
  id,
  jobId: JOB,
  runId: "run-1",
  status: "proceeding",
  stepNumber,
  expert: { key: "writer", name: "writer", version: "1.0.0" },
  usage,
  history,
})

let root: string
let store: JobStore
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "perstack-chain-"))
  store = new JobStore(root)
})
afterEach(() => rm(root, { recursive: true, force: true }))

const ids = (messages: Message[] | undefined) => messages?.map((message) => message.id)

describe("checkpoint files that continue one another", () => {
  it("read back whole, a branch (--resume-from an earlier step) as well as the line it left", async () => {
    await store.writeCheckpoint(record("a", 1, { messageCount: 0, newMessages: [user("m1"), user("m2")] }))
    await store.writeCheckpoint(
      record("b", 2, { checkpointId: "a", messageCount: 2, newMessages: [user("m3")] }),
    )
    await store.writeCheckpoint(
      record("c", 3, { checkpointId: "b", messageCount: 3, newMessages: [user("m4")] }),
    )
    await store.writeCheckpoint(
      record("d", 4, { checkpointId: "b", messageCount: 2, newMessages: [user("x")] }),
    )
    expect(ids((await store.readCheckpoint(JOB, "c"))?.messages)).toEqual(["m1", "m2", "m3", "m4"])
    expect(ids((await store.readCheckpoint(JOB, "d"))?.messages)).toEqual(["m1", "m2", "x"])
    expect((await store.listCheckpoints(JOB)).map((checkpoint) => ids(checkpoint.messages))).toEqual([
      ["m1", "m2"],
      ["m1", "m2", "m3"],
      ["m1", "m2", "m3", "m4"],
      ["m1", "m2", "x"],
    ])
    expect(await store.readCheckpointState(JOB, "c")).not.toHaveProperty("history")
    expect(await store.readCheckpoint(JOB, "nope")).toBeUndefined()
  })

  it("name the file, and what is wrong, when the chain is broken or loops", async () => {
    await store.writeCheckpoint(record("lost", 2, { checkpointId: "gone", messageCount: 1, newMessages: [] }))
    await expect(store.readCheckpoint(JOB, "lost")).rejects.toThrow(
      `${store.paths.checkpointFile(JOB, "lost")}: its history continues checkpoint gone, which is not in the store`,
    )
    await store.writeCheckpoint(record("x", 1, { checkpointId: "y", messageCount: 0, newMessages: [] }))
    await store.writeCheckpoint(record("y", 2, { checkpointId: "x", messageCount: 0, newMessages: [] }))
    await expect(store.readCheckpoint(JOB, "x")).rejects.toThrow("its history loops back to checkpoint x")
    await store.writeCheckpoint(record("short", 1, { messageCount: 0, newMessages: [user("m1")] }))
    await store.writeCheckpoint(
      record("long", 2, { checkpointId: "short", messageCount: 5, newMessages: [] }),
    )
    await expect(store.readCheckpoint(JOB, "long")).rejects.toThrow(
      `${store.paths.checkpointFile(JOB, "long")}: history keeps 5 messages of checkpoint short, which has 1`,
    )
  })
})
