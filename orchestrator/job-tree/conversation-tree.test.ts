import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import {
  type ConversationNode,
  type ConversationTree,
  countStates,
  emptyConversationTree,
  foldConversation,
  markOfState,
  totalUsage,
  treeOrder,
} from "./conversation-tree.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["worker"]

[experts."worker"]
instruction = "Work."
`

type Tagged = ConversationNode & { tag: string }
const tagged = (node: ConversationNode): Tagged => ({ ...node, tag: `view of ${node.runId}` })
const fold = (events: PerstackEvent[], tree = emptyConversationTree<Tagged>()) =>
  events.reduce((each, event) => foldConversation(each, event, tagged), tree)
const lines = (tree: ConversationTree<Tagged>) =>
  treeOrder(tree).map(({ node, depth }) => `${"  ".repeat(depth)}${node.expertKey} ${node.state} ${node.tag}`)

async function delegationJob() {
  const ws = await makeJobWorkspace()
  const llm = await startExpertScript({
    lead: [
      { toolCalls: [{ id: "w", name: "delegate__worker", arguments: { query: "work" } }] },
      { text: "Done." },
    ],
    worker: [{ text: "Worked." }],
  })
  const result = await runTestJob(ws, { toml: configText(llm.url, TEAM), expertKey: "lead", query: "Go" })
  await llm[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
  return result
}

describe("the conversation tree of a live job", () => {
  it("folds a conversation's segments into one node, delegates under it, keeping a view's own fields", async () => {
    const job = await delegationJob()
    expect(job.status).toBe("completed")
    const segments = job.events.filter((event) => event.type === "sandboxStarted").map((event) => event.runId)
    expect(segments).toHaveLength(3)
    const [lead, worker, resumed] = segments as [string, string, string]

    const waiting = fold(
      job.events.slice(0, job.events.findIndex((event) => event.type === "stopRunByDelegate") + 1),
    )
    expect(lines(waiting)).toEqual([`lead waitingForDelegates view of ${lead}`])
    expect(countStates(waiting)).toEqual({ running: 0, waiting: 1 })

    const done = fold(job.events)
    expect(lines(done)).toEqual([`lead completed view of ${lead}`, `  worker completed view of ${worker}`])
    expect(done.nodes[lead]).toMatchObject({ id: lead, runId: resumed, resumed: true })
    expect(done.nodeOfRun).toEqual({ [lead]: lead, [worker]: worker, [resumed]: lead })
    expect(Object.keys(done.segmentUsage).sort()).toEqual([...segments].sort())
    expect(totalUsage(done)).toEqual(job.job.usage)
    expect(countStates(done)).toEqual({ running: 0, waiting: 0 })
  })

  it("marks a segment whose sandbox went away while it ran, and shows a run it never saw start", async () => {
    const job = await delegationJob()
    const exited = job.events.find((event) => event.type === "sandboxExited") as PerstackEvent
    const started = job.events.findIndex((event) => event.type === "startRun")
    const running = fold(job.events.slice(0, started + 1))
    const [root] = running.roots as [string]
    expect(running.nodes[root]?.state).toBe("running")
    expect(markOfState("starting")).toBe("running")

    const crashed = fold([{ ...exited, runId: root, reason: "crashed" } as PerstackEvent], running)
    expect(crashed.nodes[root]?.state).toBe("failed")
    const cancelled = fold([{ ...exited, runId: root, reason: "cancelled" } as PerstackEvent], running)
    expect(cancelled.nodes[root]?.state).toBe("stopped")
    // A segment no longer running keeps its state whatever exit is reported after.
    expect(
      fold([{ ...exited, runId: root, reason: "crashed" } as PerstackEvent], crashed).nodes[root]?.state,
    ).toBe("failed")

    const stray = fold([{ ...exited, runId: "run_unseen", reason: "crashed" } as PerstackEvent], running)
    expect(stray.roots).toEqual([root, "run_unseen"])
    expect(stray.nodes.run_unseen).toMatchObject({
      expertKey: "(unknown)",
      state: "failed",
      tag: "view of run_unseen",
    })
  })
})
