import { readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import type { Checkpoint } from "../protocol/checkpoint.ts"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../testing/run-harness.ts"
import { buildRunSpec } from "../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../testing/scripted-llm/scripted-llm-server.ts"

type ChatRequest = {
  messages: Array<{ role: string; content: unknown; tool_call_id?: string }>
  tools?: Array<{ function: { name: string } }>
}
const bodyOf = (request: { body: unknown }) => request.body as ChatRequest

describe("a run through tools to a final answer", () => {
  it("writes a file, attempts completion and streams the final answer", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { name: "writeTextFile", arguments: { path: "notes/plan.md", text: "# Plan\n1. Squats\n" } },
          ],
          usage: { promptTokens: 100, completionTokens: 20 },
        },
        {
          reasoning: "The file is written.",
          toolCalls: [{ name: "attemptCompletion", arguments: {} }],
          usage: { promptTokens: 150, completionTokens: 5 },
        },
        {
          text: "I wrote notes/plan.md with a one-item plan.",
          usage: { promptTokens: 180, completionTokens: 12 },
        },
      ],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))

    expect(result.types).toEqual([
      "initializeRuntime",
      "startRun",
      "startGeneration",
      "callTools",
      "skillConnected",
      "recordToolResult",
      "resolveToolResults",
      "finishToolCall",
      "continueToNextStep",
      "startGeneration",
      "startStreamingReasoning",
      "streamReasoning",
      "streamReasoning",
      "streamReasoning",
      "completeStreamingReasoning",
      "callTools",
      "recordToolResult",
      "attemptCompletion",
      "startStreamingRunResult",
      ...Array(6).fill("streamRunResult"),
      "completeStreamingRunResult",
      "skillDisconnected",
      "completeRun",
    ])
    expect(await readFile(path.join(ws.dir, "notes/plan.md"), "utf8")).toBe("# Plan\n1. Squats\n")

    const steps = eventsOf(result, "continueToNextStep")
    expect(steps.map((event) => [event.checkpoint.stepNumber, event.nextCheckpoint.stepNumber])).toEqual([
      [1, 2],
    ])
    expect(steps[0]?.checkpoint.status).toBe("proceeding")

    const [complete] = eventsOf(result, "completeRun")
    expect(complete?.text).toBe("I wrote notes/plan.md with a one-item plan.")
    expect(complete?.checkpoint).toMatchObject({ status: "completed", stepNumber: 2 })
    expect(complete?.checkpoint.usage).toMatchObject({ inputTokens: 430, outputTokens: 37 })
    expect(eventsOf(result, "completeStreamingReasoning")[0]?.text).toBe("The file is written.")
    expect(eventsOf(result, "completeStreamingRunResult")[0]?.text).toBe(complete?.text)

    // The final answer is asked for without tools; the tool results went back to the model before.
    const [first, second, third] = llm.requests.map(bodyOf)
    expect(first?.tools?.map((tool) => tool.function.name)).toContain("writeTextFile")
    expect(second?.messages.at(-1)).toMatchObject({ role: "tool" })
    expect(JSON.stringify(second?.messages.at(-1)?.content)).toContain("notes/plan.md")
    expect(third?.tools).toBeUndefined()
    expect(third?.messages.at(-1)).toMatchObject({ role: "tool" })
  })

  it("completes at once when the model writes its answer next to attemptCompletion", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ text: "All done.", toolCalls: [{ name: "attemptCompletion", arguments: {} }] }],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "All done." })
    expect(llm.requests).toHaveLength(1)
    // The call got its result, so a follow-up query can continue this conversation.
    expect(result.checkpoint.messages.at(-1)?.type).toBe("toolMessage")
  })

  it("treats a reply without tool calls as the final answer", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "Hello!" }] })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    expect(result.types.slice(1)).toEqual(["startRun", "startGeneration", "completeRun"])
    expect(result.terminal).toMatchObject({
      text: "Hello!",
      checkpoint: { status: "completed", stepNumber: 1 },
    })
  })
})

describe("parallel delegation", () => {
  const delegates = [
    { key: "researcher", name: "researcher", version: "1.0.0", description: "Finds facts" },
    { key: "@team/critic", name: "@team/critic", version: "1.0.0", description: "Criticises drafts" },
  ]

  it("waits for the orchestrator's acknowledgement of calls it runs itself, not of delegate calls alone", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ id: "call_l", name: "listDirectory", arguments: { path: "." } }] },
        { toolCalls: [{ id: "call_r", name: "delegate__researcher", arguments: { query: "Find facts" } }] },
      ],
    })
    const acknowledged: string[] = []
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, delegates }), {
      acknowledged: async (eventId) => {
        acknowledged.push(eventId)
      },
    })
    expect(result.terminal.type).toBe("stopRunByDelegate")
    const calls = eventsOf(result, "callTools")
    expect(calls).toHaveLength(2)
    // The listing ran only once its call was stored; the delegate's run is the orchestrator's, which stores it first.
    expect(acknowledged).toEqual([calls[0]?.id])
  })

  it("stops with every pending call, then resumes with one success and one error", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { id: "call_r", name: "delegate__researcher", arguments: { query: "Find three facts" } },
            { id: "call_c", name: "delegate__team__critic", arguments: { query: "Criticise the draft" } },
            { id: "call_l", name: "listDirectory", arguments: { path: "." } },
          ],
        },
        { text: "Facts gathered; the critic failed, so I skipped the critique." },
      ],
    })
    const first = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, delegates }))
    expect(first.types.slice(1)).toEqual([
      "startRun",
      "startGeneration",
      "callTools",
      "skillConnected",
      "recordToolResult",
      "callDelegate",
      "skillDisconnected",
      "stopRunByDelegate",
    ])
    const stop = first.terminal
    expect(stop.type).toBe("stopRunByDelegate")
    const checkpoint: Checkpoint = first.checkpoint
    expect(checkpoint.status).toBe("stoppedByDelegate")
    expect(checkpoint.delegateTo).toEqual([
      {
        expert: { key: "researcher", name: "researcher", version: "1.0.0" },
        toolCallId: "call_r",
        toolName: "delegate__researcher",
        query: "Find three facts",
      },
      {
        expert: { key: "@team/critic", name: "@team/critic", version: "1.0.0" },
        toolCallId: "call_c",
        toolName: "delegate__team__critic",
        query: "Criticise the draft",
      },
    ])
    expect(checkpoint.pendingToolCalls?.map((call) => call.id)).toEqual(["call_r", "call_c"])
    // The direct tool already ran; its result waits in the checkpoint.
    expect(checkpoint.partialToolResults?.map((result) => result.id)).toEqual(["call_l"])

    // The orchestrator ran both delegates (steps 2 and 3) and resumes the parent in a new sandbox.
    const resumed = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        delegates,
        runId: "run-resumed",
        stepNumber: 3,
        input: {
          type: "resume",
          checkpoint,
          toolResults: [
            {
              id: "call_r",
              skillName: "delegate/researcher",
              toolName: "researcher",
              result: [{ type: "textPart", id: "t1", text: "1. a 2. b 3. c" }],
            },
            {
              id: "call_c",
              skillName: "delegate/@team/critic",
              toolName: "@team/critic",
              result: [{ type: "textPart", id: "t2", text: "the critic's sandbox crashed" }],
              isError: true,
            },
          ],
        },
      }),
    )
    expect(resumed.types.slice(1)).toEqual([
      "startRun",
      "finishAllToolCalls",
      "continueToNextStep",
      "startGeneration",
      "completeRun",
    ])
    expect(eventsOf(resumed, "startRun")[0]?.initialCheckpoint).toMatchObject({
      runId: "run-resumed",
      stepNumber: 4,
    })
    expect(resumed.terminal.checkpoint.stepNumber).toBe(5)

    // The model sees all three results, answered under the names it called them by; the failure as an error.
    const toolMessages = bodyOf(llm.requests[1] ?? { body: {} }).messages.filter(
      (message) => message.role === "tool",
    )
    expect(toolMessages.map((message) => message.tool_call_id)).toEqual(["call_l", "call_r", "call_c"])
    expect(toolMessages[1]?.content).toBe("1. a 2. b 3. c")
    expect(toolMessages[2]?.content).toBe("Error: the critic's sandbox crashed")
  })

  it("offers each delegate as a tool taking a query, and says so in the system prompt", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }] })
    await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, delegates }))
    const request = bodyOf(llm.requests[0] ?? { body: {} })
    const names = request.tools?.map((tool) => tool.function.name) ?? []
    expect(names).toEqual(expect.arrayContaining(["delegate__researcher", "delegate__team__critic"]))
    expect(String(request.messages[0]?.content)).toContain(
      "- @team/critic (tool `delegate__team__critic`): Criticises drafts",
    )
  })
})

describe("retries and errors", () => {
  it("retries a 429 and a 500, then stops on a non-retryable 401 with a structured error", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        { type: "error", status: 429, message: "slow down", headers: { "retry-after": "0" } },
        { type: "error", status: 500, message: "upstream broke" },
        { toolCalls: [{ name: "todo", arguments: { newTodos: ["write"] } }] },
        { type: "error", status: 401, message: "Incorrect API key provided: sk-test-key-0123456789" },
      ],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    const retries = eventsOf(result, "retry")
    expect(retries.map((event) => event.reason)).toEqual([
      expect.stringMatching(/^provider\.rateLimited: .*slow down.* \(retry 1 of 3 in 0 ms\)$/),
      expect.stringMatching(/^provider\.serverError: .*upstream broke.* \(retry 2 of 3 in 100 ms\)$/),
    ])
    expect(retries.every((event) => event.newMessages.length === 0)).toBe(true)
    const stop = result.terminal
    expect(stop.type).toBe("stopRunByError")
    if (stop.type !== "stopRunByError") return
    expect(stop.error).toMatchObject({ code: "provider.auth", statusCode: 401, isRetryable: false })
    expect(stop.checkpoint).toMatchObject({ status: "stoppedByError", stepNumber: 2, error: stop.error })
    // The key never reaches an event, even when the provider echoes it.
    expect(JSON.stringify(result.events)).not.toContain("sk-test-key-0123456789")
    expect(stop.error.message).toContain("[redacted]")
  })

  it("gives up after maxRetries with a retryable error", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: Array.from({ length: 3 }, () => ({
        type: "error" as const,
        status: 503,
        headers: { "retry-after": "0" },
      })),
    })
    const result = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, limits: { maxRetries: 2 } }),
    )
    expect(eventsOf(result, "retry")).toHaveLength(2)
    expect(result.terminal).toMatchObject({
      type: "stopRunByError",
      error: { code: "provider.serverError", isRetryable: true },
    })
  })

  it("times out a stalled stream and retries it", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "stall", afterChunks: 1 }, { text: "recovered" }],
    })
    const result = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, limits: { timeout: 300 } }),
    )
    expect(eventsOf(result, "retry")[0]?.reason).toMatch(/^provider\.timeout: .*300 ms/)
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "recovered" })
  })

  it("retries a malformed chunk and a dropped connection", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ type: "malformedChunk", afterChunks: 1 }, { type: "reset" }, { text: "fine" }],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    expect(eventsOf(result, "retry").map((event) => event.reason.split(":")[0])).toEqual([
      "provider.badResponse",
      "provider.connection",
    ])
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "fine" })
  })
})

describe("checkpoints as printed (protocol 2)", () => {
  it("carry only the messages new since the checkpoint they continue, however long the conversation", async () => {
    await using ws = await makeWorkspace()
    const health = { toolCalls: [{ name: "healthCheck", arguments: {} }] }
    await using llm = await startScriptedLlmServer({ steps: [health, health, health, { text: "Fine." }] })
    const first = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, limits: { stepBudget: 2 } }),
    )
    const [startRun] = eventsOf(first, "startRun")
    // A fresh conversation continues no checkpoint; the instruction and the query open it.
    expect(startRun?.initialCheckpoint.history).toEqual({ messageCount: 0, newMessages: [] })
    expect(startRun?.inputMessages.map((message) => message.type)).toEqual([
      "instructionMessage",
      "userMessage",
    ])
    const [step1] = eventsOf(first, "continueToNextStep")
    expect(step1?.checkpoint.history).toMatchObject({ messageCount: 0 })
    expect(step1?.checkpoint.history.newMessages.map((message) => message.type)).toEqual([
      "instructionMessage",
      "userMessage",
      "expertMessage",
      "toolMessage",
    ])
    expect(step1?.nextCheckpoint.history).toEqual({
      checkpointId: step1?.checkpoint.id,
      messageCount: 4,
      newMessages: [],
    })
    const stop = first.terminal
    expect(stop.checkpoint.id).toBe(step1?.nextCheckpoint.id)
    expect(stop.checkpoint.history).toMatchObject({ checkpointId: step1?.checkpoint.id, messageCount: 4 })
    expect(stop.checkpoint.history.newMessages.map((message) => message.type)).toEqual([
      "expertMessage",
      "toolMessage",
    ])
    expect(eventsOf(first, "startGeneration").map((event) => event.messageCount)).toEqual([2, 4])
    expect(first.checkpoint.messages).toHaveLength(6)

    // A new segment from it: its first checkpoint continues the one it started from.
    const second = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        runId: "run-2",
        stepNumber: 2,
        input: { type: "continue", checkpoint: first.checkpoint, text: "Once more." },
      }),
    )
    expect(eventsOf(second, "startRun")[0]?.initialCheckpoint.history).toEqual({
      checkpointId: stop.checkpoint.id,
      messageCount: 6,
      newMessages: [],
    })
    const [resumedStep] = eventsOf(second, "continueToNextStep")
    expect(resumedStep?.checkpoint.history).toMatchObject({
      checkpointId: stop.checkpoint.id,
      messageCount: 6,
    })
    expect(resumedStep?.checkpoint.history.newMessages.map((message) => message.type)).toEqual([
      "userMessage",
      "expertMessage",
      "toolMessage",
    ])
    expect(second.checkpoint.messages.map((message) => message.id).slice(0, 6)).toEqual(
      first.checkpoint.messages.map((message) => message.id),
    )
    expect(second.checkpoint.messages).toHaveLength(10)
  })

  it("continue what the input's historyBase names when the orchestrator made the input up", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "Done." }, { text: "Done again." }] })
    const first = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    const stored = first.checkpoint
    const madeUp = {
      ...stored,
      id: "cp-made-up",
      messages: [...stored.messages, ...stored.messages.slice(-1)],
    }
    const second = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        runId: "run-2",
        input: {
          type: "continue",
          checkpoint: madeUp,
          text: "More.",
          historyBase: { checkpointId: stored.id, messageCount: stored.messages.length },
        },
      }),
    )
    expect(second.terminal.type).toBe("completeRun")
    expect(second.terminal.checkpoint.history).toMatchObject({
      checkpointId: stored.id,
      messageCount: stored.messages.length,
    })
    // The message the store does not hold yet comes first among the new ones.
    expect(second.terminal.checkpoint.history.newMessages[0]).toEqual(stored.messages.at(-1))
    expect(second.checkpoint.messages).toHaveLength(stored.messages.length + 3)
  })
})
