import { describe, expect, it } from "vitest"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { countStates, totalUsage, treeOrder } from "../job-tree/conversation-tree.ts"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"
import { tokenLine } from "./figures.ts"
import { initialLiveState, type LiveState, liveReducer, withNewQuery } from "./live-state.ts"

const TEAM = `[experts."lead"]
instruction = "Coordinate."
delegates = ["@team/designer", "@team/coder"]

[experts."@team/designer"]
instruction = "Design."

[experts."@team/coder"]
instruction = "Code."
`

const usage = (prompt: number, cached: number, completion: number) => ({
  promptTokens: prompt,
  cachedTokens: cached,
  completionTokens: completion,
})

const fold = (events: PerstackEvent[], state: LiveState = initialLiveState()) =>
  events.reduce(liveReducer, state)
const lines = (state: LiveState) =>
  treeOrder(state).map(
    ({ node, depth }) =>
      `${"  ".repeat(depth)}${node.expertKey}${node.resumed ? " (resumed)" : ""} ${node.state}`,
  )

describe("the live state of a job", () => {
  it("folds a delegation job into one tree node per conversation, with its states and token totals", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({
      lead: [
        {
          reasoning: "Split the work.",
          toolCalls: [
            { name: "delegate__team__designer", arguments: { query: "design" } },
            { name: "delegate__team__coder", arguments: { query: "code" } },
          ],
          usage: usage(1000, 600, 50),
        },
        (request) => ({ text: `Both done: ${lastInput(request)}`, usage: usage(1400, 1000, 30) }),
        { text: "And again.", usage: usage(1500, 1400, 10) },
      ],
      "@team/designer": [{ text: "A maze.", usage: usage(200, 0, 20) }],
      "@team/coder": [{ text: "Code written.", usage: usage(300, 100, 40) }],
    })
    const toml = configText(llm.url, TEAM)
    const first = await runTestJob(ws, { toml, expertKey: "lead", query: "Build it" })
    expect(first.status).toBe("completed")

    // Midway: the lead waits for its delegates.
    const cut = first.events.findIndex((event) => event.type === "stopRunByDelegate")
    const midway = fold(first.events.slice(0, cut + 1))
    expect(lines(midway)).toEqual(["lead waitingForDelegates"])
    expect(countStates(midway)).toEqual({ running: 0, waiting: 1 })
    expect(midway.reasoning[midway.roots[0] ?? ""]).toBe("Split the work.")

    const done = fold(first.events)
    expect(done.query).toBe("Build it")
    expect(lines(done).sort()).toEqual([
      "  @team/coder completed",
      "  @team/designer completed",
      "lead (resumed) completed",
    ])
    expect(countStates(done)).toEqual({ running: 0, waiting: 0 })
    const total = totalUsage(done)
    expect(total).toMatchObject({ inputTokens: 2900, cachedInputTokens: 1700, outputTokens: 140 })
    expect(total).toEqual(first.job.usage)
    expect(tokenLine(total)).toBe("Tokens: In 2.9k (Cached 1.7k, Cache Hit 58.62%) · Out 140")
    const root = done.roots[0] ?? ""
    expect(done.answer[root]).toMatch(/^Both done: /)
    expect(done.activity.filter((line) => line.nodeId === root).map((line) => line.text)).toEqual([
      '@team/designer({"query":"design"})',
      '@team/coder({"query":"code"})',
    ])

    // A follow-up continues the same conversation: the same node, resumed, with the new answer.
    const second = await runTestJob(ws, {
      toml,
      expertKey: "lead",
      query: "Again",
      continueJob: { jobId: first.job.id },
    })
    const again = fold(second.events, withNewQuery(done, "Again"))
    expect(again.query).toBe("Again")
    expect(lines(again)).toHaveLength(3)
    expect(again.answer[root]).toBe("And again.")
    expect(totalUsage(again)).toEqual(second.job.usage)
  })
})
