import { describe, expect, it } from "vitest"
import { eventsOf, makeWorkspace, runScriptedSegment } from "../testing/run-harness.ts"
import { buildRunSpec } from "../testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../testing/scripted-llm/scripted-llm-server.ts"

type ChatMessage = {
  role: string
  tool_call_id?: string
  content: unknown
  tool_calls?: Array<{ function: { arguments: string } }>
}
type ChatBody = { messages: ChatMessage[]; tools?: Array<{ function: { name: string } }> }
const bodyOf = (request: { body: unknown } | undefined): ChatBody =>
  (request?.body as ChatBody | undefined) ?? { messages: [] }
const toolMessages = (request: { body: unknown } | undefined) =>
  bodyOf(request).messages.filter((message) => message.role === "tool")

describe("what the original crashed on becomes an error result the model sees", () => {
  it("an unknown tool, arguments that are not JSON, arguments that fail the schema, and a failing tool", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { id: "c1", name: "launchRockets", arguments: {} },
            { id: "c2", name: "writeTextFile", arguments: '{"path": "a.txt", "text": ' },
            { id: "c3", name: "readTextFile", arguments: { path: 42 } },
            { id: "c4", name: "readTextFile", arguments: { path: "missing.txt" } },
          ],
        },
        { text: "I will stop here." },
      ],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "I will stop here." })
    const [resolved] = eventsOf(result, "resolveToolResults")
    expect(resolved?.toolResults.map((toolResult) => [toolResult.id, toolResult.isError])).toEqual([
      ["c1", true],
      ["c2", true],
      ["c3", true],
      ["c4", true],
    ])
    const seen = toolMessages(llm.requests[1]).map((message) => String(message.content))
    expect(seen[0]).toMatch(/^Error: .*no tool named \\"launchRockets\\"\. Available tools: .*writeTextFile/)
    expect(seen[1]).toContain("the arguments are not a JSON object")
    expect(seen[2]).toMatch(/^Error: .*path/)
    expect(seen[3]).toMatch(/^Error: .*missing\.txt/)
    // The broken call is replayed as valid JSON, so the conversation stays acceptable to strict servers.
    const assistant = bodyOf(llm.requests[1]).messages.find((message) => message.role === "assistant")
    expect(JSON.parse(assistant?.tool_calls?.[1]?.function.arguments ?? "")).toEqual({
      __rawArguments: '{"path": "a.txt", "text": ',
    })
  })

  it("an unexpected finish reason is retried with feedback, consuming a step", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ text: "", finishReason: "content_filter" }, { text: "Here it is." }],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    expect(result.types.slice(1)).toEqual([
      "startRun",
      "startGeneration",
      "retry",
      "continueToNextStep",
      "startGeneration",
      "completeRun",
    ])
    expect(eventsOf(result, "retry")[0]?.reason).toContain('finish reason "content_filter"')
    expect(result.terminal.checkpoint.stepNumber).toBe(2)
  })

  it("a model that never produces anything is stopped after maxRetries", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: Array.from({ length: 3 }, () => ({ text: "" })) })
    const result = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, limits: { maxRetries: 2 } }),
    )
    expect(result.terminal).toMatchObject({ type: "stopRunByError", error: { code: "model.noProgress" } })
  })
})

describe("attemptCompletion", () => {
  it("when it comes with other calls, every call gets a result and the run goes on", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [
        {
          toolCalls: [
            { id: "w", name: "writeTextFile", arguments: { path: "out.txt", text: "x" } },
            { id: "done", name: "attemptCompletion", arguments: {} },
          ],
        },
        { text: "Done.", toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
      ],
    })
    const result = await runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }))
    const seen = toolMessages(llm.requests[1])
    expect(seen.map((message) => message.tool_call_id)).toEqual(["w", "done"])
    expect(String(seen[1]?.content)).toContain("attemptCompletion must be called on its own")
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "Done." })
  })

  it("with open todos, tells the model what remains; the todos live in the checkpoint across a resume", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: [{ toolCalls: [{ name: "todo", arguments: { newTodos: ["draft", "review"] } }] }],
    })
    // Budget of one step: the run stops right after adding the todos.
    const first = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, limits: { stepBudget: 1 } }),
    )
    expect(first.terminal.type).toBe("stopRunByExceededMaxSteps")
    expect(first.terminal.checkpoint.todos?.map((todo) => todo.title)).toEqual(["draft", "review"])

    llm.push(
      { toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
      { toolCalls: [{ name: "todo", arguments: { completedTodos: [0, 1] } }] },
      { toolCalls: [{ name: "attemptCompletion", arguments: {} }] },
      { text: "Both done." },
    )
    const second = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        stepNumber: 1,
        input: { type: "continue", checkpoint: first.checkpoint, text: "Go on." },
      }),
    )
    expect(String(toolMessages(llm.requests[2]).at(-1)?.content)).toContain("remainingTodos")
    expect(second.terminal).toMatchObject({ type: "completeRun", text: "Both done." })
    expect(second.terminal.checkpoint.todos?.every((todo) => todo.completed)).toBe(true)
  })
})

describe("stops", () => {
  it("stops when the step budget is spent, with step numbers continuing the job's", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({
      steps: Array.from({ length: 3 }, () => ({ toolCalls: [{ name: "healthCheck", arguments: {} }] })),
    })
    const result = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, stepNumber: 40, limits: { stepBudget: 2 } }),
    )
    expect(eventsOf(result, "continueToNextStep").map((event) => event.checkpoint.stepNumber)).toEqual([41])
    expect(result.terminal).toMatchObject({
      type: "stopRunByExceededMaxSteps",
      checkpoint: { status: "stoppedByExceededMaxSteps", stepNumber: 42 },
    })
    expect(llm.remaining()).toBe(1)
  })

  it("stops for an interactive tool and resumes with the user's answer", async () => {
    await using ws = await makeWorkspace()
    const skills = {
      ask: {
        type: "interactiveSkill" as const,
        tools: {
          confirm: {
            description: "Ask the user to confirm",
            inputJsonSchema:
              '{"type":"object","properties":{"question":{"type":"string"}},"required":["question"]}',
          },
        },
      },
    }
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ id: "ask1", name: "ask__confirm", arguments: { question: "Delete it?" } }] },
        { text: "Deleted." },
      ],
    })
    const first = await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, expert: { skills } }),
    )
    expect(first.types.slice(-3)).toEqual(["callTools", "callInteractiveTool", "stopRunByInteractiveTool"])
    expect(first.terminal.checkpoint.pendingToolCalls).toEqual([
      { id: "ask1", skillName: "ask", toolName: "confirm", args: { question: "Delete it?" } },
    ])
    const second = await runScriptedSegment(
      buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: { skills },
        stepNumber: 1,
        input: {
          type: "resume",
          checkpoint: first.checkpoint,
          toolResults: [
            {
              id: "ask1",
              skillName: "ask",
              toolName: "confirm",
              result: [{ type: "textPart", id: "a", text: "yes" }],
            },
          ],
        },
      }),
    )
    expect(second.terminal).toMatchObject({ type: "completeRun", text: "Deleted." })
    expect(toolMessages(llm.requests[1])).toEqual([{ role: "tool", tool_call_id: "ask1", content: "yes" }])
  })

  it("never offers interactive tools to a delegate", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ text: "ok" }] })
    const skills = {
      ask: {
        type: "interactiveSkill" as const,
        tools: { confirm: { inputJsonSchema: '{"type":"object"}' } },
      },
    }
    await runScriptedSegment(
      buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, expert: { skills }, isDelegated: true }),
    )
    const names = (bodyOf(llm.requests[0]).tools ?? []).map((tool) => tool.function.name)
    expect(names).not.toContain("ask__confirm")
  })

  it("stops cleanly when cancelled mid-generation, leaving a resumable checkpoint", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({ steps: [{ type: "stall" }] })
    const controller = new AbortController()
    const running = runScriptedSegment(buildRunSpec({ workspace: ws.dir, llmUrl: llm.url }), {
      signal: controller.signal,
    })
    while (llm.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    const result = await running
    expect(result.terminal).toMatchObject({
      type: "stopRunByError",
      error: { code: "run.cancelled", isRetryable: true },
      checkpoint: { status: "stoppedByCancel" },
    })
  })
})
