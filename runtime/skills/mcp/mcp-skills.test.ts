// MCP skills through whole runs: real test servers over stdio, the scripted LLM, the runtime's events.
import { randomUUID } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import type { Skill } from "../../protocol/config/skill.ts"
import { fixtureSkill } from "../../testing/mcp-servers/stdio-fixture.ts"
import { eventsOf, makeWorkspace, runScriptedSegment, type SegmentResult } from "../../testing/run-harness.ts"
import { buildRunSpec } from "../../testing/run-spec-builder.ts"
import { type ScriptedStep, startScriptedLlmServer } from "../../testing/scripted-llm/scripted-llm-server.ts"

type ChatBody = {
  messages: Array<{ role: string; content: unknown; tool_call_id?: string }>
  tools?: Array<{ function: { name: string; description: string } }>
}
const bodyOf = (request: { body: unknown } | undefined) =>
  (request?.body as ChatBody | undefined) ?? { messages: [] }
const toolNamesOf = (request: { body: unknown } | undefined) =>
  (bodyOf(request).tools ?? []).map((tool) => tool.function.name)
const toolTexts = (result: SegmentResult) =>
  eventsOf(result, "resolveToolResults").flatMap((event) =>
    event.toolResults.map((toolResult) => ({
      id: toolResult.id,
      isError: toolResult.isError === true,
      text: toolResult.result.map((part) => (part.type === "textPart" ? part.text : "")).join(""),
    })),
  )
/** pids of live processes whose command line holds `marker` (Linux /proc) */
const processesWith = async (marker: string) => {
  const pids = (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry))
  const lines = await Promise.all(
    pids.map((pid) =>
      readFile(`/proc/${pid}/cmdline`, "utf8").then(
        (line) => [pid, line] as const,
        () => [pid, ""] as const,
      ),
    ),
  )
  return lines.filter(([, line]) => line.includes(marker)).map(([pid]) => Number(pid))
}
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function run(
  skills: Record<string, Skill>,
  steps: ScriptedStep[],
  options: {
    delegates?: { key: string; name: string; version: string }[]
    env?: Record<string, string>
    callMs?: number
  } = {},
) {
  await using ws = await makeWorkspace()
  await using llm = await startScriptedLlmServer({ steps })
  const result = await runScriptedSegment(
    buildRunSpec({ workspace: ws.dir, llmUrl: llm.url, expert: { skills }, delegates: options.delegates }),
    { mcpTimeouts: { callMs: options.callMs ?? 1_500, startMs: 10_000, stopGraceMs: 300 }, env: options.env },
  )
  return { result, requests: llm.requests }
}

describe("MCP stdio skills", () => {
  it("namespaces tools per skill: two servers' `search` and a delegate never collide, pick and omit apply", async () => {
    const { result, requests } = await run(
      {
        alpha: fixtureSkill("clashing", { args: ["--label", "alpha"] }),
        beta: fixtureSkill("clashing", { args: ["--label", "beta"], omit: ["lookup"] }),
        delegate: fixtureSkill("clashing", { args: ["--label", "gamma"], pick: ["search"] }),
      },
      [
        {
          toolCalls: [
            { id: "a", name: "alpha__search", arguments: { query: "q1" } },
            { id: "b", name: "beta__search", arguments: { query: "q2" } },
            { id: "g", name: "delegate__search", arguments: { query: "q3" } },
          ],
        },
        { text: "done" },
      ],
      { delegates: [{ key: "search", name: "search", version: "1.0.0" }] },
    )
    const names = toolNamesOf(requests[0])
    expect(names).toEqual(
      expect.arrayContaining(["alpha__search", "alpha__lookup", "beta__search", "delegate__search"]),
    )
    expect(names).not.toContain("beta__lookup")
    expect(names).not.toContain("delegate__lookup")
    // The delegate `search` keeps working under a name of its own.
    expect(names.filter((name) => name.startsWith("delegate__search"))).toEqual([
      "delegate__search",
      "delegate__search_2",
    ])
    expect(names.every((name) => /^[A-Za-z0-9_-]{1,64}$/.test(name))).toBe(true)
    expect(toolTexts(result)).toEqual([
      { id: "a", isError: false, text: "alpha: q1" },
      { id: "b", isError: false, text: "beta: q2" },
      { id: "g", isError: false, text: "gamma: q3" },
    ])
    expect(result.terminal.type).toBe("completeRun")
  })

  it("starts every server before the first LLM request and reports how long each phase took", async () => {
    const { result } = await run({ docs: fixtureSkill("tools", { args: ["--name", "docs"] }) }, [
      { text: "ok" },
    ])
    const types = result.types
    expect(types.slice(0, 3)).toEqual(["initializeRuntime", "skillStarting", "skillConnected"])
    expect(types.indexOf("skillConnected")).toBeLessThan(types.indexOf("startGeneration"))
    const [connected] = eventsOf(result, "skillConnected")
    expect(connected).toMatchObject({ skillName: "docs", serverInfo: { name: "docs", version: "1.4.2" } })
    for (const field of [
      "spawnDurationMs",
      "handshakeDurationMs",
      "toolDiscoveryDurationMs",
      "totalDurationMs",
    ]) {
      expect(connected).toHaveProperty(field, expect.any(Number))
    }
    // Shut down before the terminal event, which stays the last line.
    expect(types.slice(-2)).toEqual(["skillDisconnected", "completeRun"])
  })

  it("turns every stderr line into a skillStderr event (CRLF stripped, multibyte intact, long lines cut)", async () => {
    const { result } = await run({ noisy: fixtureSkill("stderr") }, [
      { toolCalls: [{ name: "noisy__log", arguments: { lines: 2, long: true } }] },
      { text: "ok" },
    ])
    const lines = eventsOf(result, "skillStderr").map((event) => event.message)
    expect(lines.slice(0, 4)).toEqual(["stderr-server: starting", "données prêtes ✓", "line 1", "line 2"])
    expect(lines[4]).toMatch(/^x+… \(line cut at 8192 bytes\)$/)
    expect(eventsOf(result, "skillStderr").every((event) => event.skillName === "noisy")).toBe(true)
  })

  it("a server that dies mid-call gives an error result, and is restarted on the next call", async () => {
    const { result } = await run({ flaky: fixtureSkill("crashing") }, [
      { toolCalls: [{ id: "before", name: "flaky__ok", arguments: {} }] },
      { toolCalls: [{ id: "crash", name: "flaky__crash", arguments: {} }] },
      { toolCalls: [{ id: "after", name: "flaky__ok", arguments: {} }] },
      { text: "survived" },
    ])
    const [before, crash, after] = toolTexts(result)
    expect(crash).toMatchObject({ id: "crash", isError: true })
    expect(crash?.text).toContain("exited with code 3")
    expect(crash?.text).toContain("restarted on its next call")
    expect(after?.isError).toBe(false)
    expect(after?.text).not.toBe(before?.text) // another process
    expect(eventsOf(result, "skillStarting")).toHaveLength(2)
    expect(eventsOf(result, "skillStderr").map((event) => event.message)).toContain(
      "crashing-server: giving up",
    )
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "survived" })
  })

  it("a result over the MCP message limit is reported as that, not as the server's exit", async () => {
    const { result } = await run(
      { big: fixtureSkill("crashing") },
      [
        { toolCalls: [{ id: "huge", name: "big__huge", arguments: { megabytes: 20 } }] },
        { toolCalls: [{ id: "after", name: "big__ok", arguments: {} }] },
        { text: "coped" },
      ],
      // 20 MB takes the server a while to build and send: the failure is its size, not its time.
      { callMs: 30_000 },
    )
    const [huge, after] = toolTexts(result)
    expect(huge).toMatchObject({ id: "huge", isError: true })
    expect(huge?.text).toContain("the server sent a message over the 10 MB limit of an MCP message")
    expect(huge?.text).not.toContain("exited with code")
    expect(after?.isError).toBe(false)
    expect(result.terminal).toMatchObject({ type: "completeRun", text: "coped" })
  })

  it("a call that hangs times out into an error result; the stuck server is stopped and replaced", async () => {
    const { result } = await run({ stuck: fixtureSkill("hanging", { args: ["--ignore-sigterm"] }) }, [
      { toolCalls: [{ id: "first", name: "stuck__ok", arguments: {} }] },
      { toolCalls: [{ id: "hang", name: "stuck__hang", arguments: {} }] },
      { toolCalls: [{ id: "again", name: "stuck__ok", arguments: {} }] },
      { text: "moved on" },
    ])
    const [first, hang, again] = toolTexts(result)
    expect(hang).toMatchObject({ isError: true })
    expect(hang?.text).toContain("did not answer within 1.5 s")
    const pids = [first, again].map((entry) => Number(entry?.text.replace("ok from ", "")))
    expect(pids[0]).not.toBe(pids[1])
    // Neither survives the run, though both ignore a closed stdin and SIGTERM.
    expect(pids.map(isAlive)).toEqual([false, false])
    expect(result.terminal.type).toBe("completeRun")
  })

  it("tool errors from a healthy server come back as error results without a restart", async () => {
    const { result } = await run({ docs: fixtureSkill("tools") }, [
      {
        toolCalls: [
          { id: "refuse", name: "docs__refuse", arguments: {} },
          { id: "bad", name: "docs__search", arguments: { query: 42 } },
          { id: "unknown", name: "docs__nope", arguments: {} },
        ],
      },
      { text: "ok" },
    ])
    const [refuse, bad, unknown] = toolTexts(result)
    expect(refuse).toEqual({ id: "refuse", isError: true, text: "refused on purpose" })
    expect(bad?.isError).toBe(true)
    expect(bad?.text).toMatch(/query/)
    expect(unknown?.text).toContain('no tool named \\"docs__nope\\"')
    expect(eventsOf(result, "skillStarting")).toHaveLength(1)
  })
})

describe("MCP skills that cannot start", () => {
  it("a missing requiredEnv variable is named before anything is printed", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({})
    const spec = buildRunSpec({
      workspace: ws.dir,
      llmUrl: llm.url,
      expert: { skills: { web: fixtureSkill("news", { requiredEnv: ["EXA_API_KEY", "OTHER_KEY"] }) } },
    })
    const events: string[] = []
    const running = runScriptedSegment(spec, { env: { OTHER_KEY: "set" } }).then((result) => {
      events.push(...result.types)
    })
    await expect(running).rejects.toMatchObject({
      code: "skill.missingEnv",
      message: 'skill "web" needs the environment variable EXA_API_KEY (requiredEnv), which is not set',
    })
    expect(events).toEqual([])
    expect(llm.requests).toHaveLength(0)
  })

  it("refuses to hand a server a protected variable", async () => {
    await using ws = await makeWorkspace()
    const spec = buildRunSpec({
      workspace: ws.dir,
      llmUrl: "http://127.0.0.1:9/v1",
      expert: { skills: { web: fixtureSkill("news", { requiredEnv: ["NODE_OPTIONS"] }) } },
    })
    await expect(
      runScriptedSegment(spec, { env: { NODE_OPTIONS: "--require=/tmp/evil.js" } }),
    ).rejects.toMatchObject({
      code: "skill.protectedEnv",
    })
  })

  it.runIf(process.platform === "linux")(
    "a server that never finishes the handshake fails the start with a clear message; none is left running",
    async () => {
      await using ws = await makeWorkspace()
      await using llm = await startScriptedLlmServer({})
      const marker = `marker-${randomUUID()}`
      const spec = buildRunSpec({
        workspace: ws.dir,
        llmUrl: llm.url,
        expert: {
          skills: {
            mute: fixtureSkill("hanging", { args: ["--silent", "--ignore-sigterm", marker] }),
            fine: fixtureSkill("tools", { args: [marker] }),
          },
        },
      })
      const result = await runScriptedSegment(spec, { mcpTimeouts: { startMs: 500, stopGraceMs: 300 } })
      expect(result.terminal).toMatchObject({
        type: "stopRunByError",
        error: {
          code: "skill.startFailed",
          message: expect.stringMatching(
            /^skill "mute" did not start: the MCP handshake failed: .*timed out/i,
          ),
          isRetryable: false,
        },
      })
      expect(llm.requests).toHaveLength(0)
      expect(await processesWith(marker)).toEqual([])
    },
  )

  it("a command that does not exist is named", async () => {
    await using ws = await makeWorkspace()
    const spec = buildRunSpec({
      workspace: ws.dir,
      llmUrl: "http://127.0.0.1:9/v1",
      expert: {
        skills: {
          ghost: { ...fixtureSkill("tools"), command: "/nonexistent/mcp-server", args: [] },
        },
      },
    })
    const result = await runScriptedSegment(spec)
    expect(result.terminal.type).toBe("stopRunByError")
    expect(result.terminal.checkpoint.error).toEqual({
      name: "PerstackError",
      code: "skill.startFailed",
      message:
        'skill "ghost" did not start: command "/nonexistent/mcp-server" could not start: not found (not on PATH, or the path does not exist)',
      isRetryable: false,
    })
  })

  it("a server that exits at start stops the run with an error naming the skill and the end of its stderr", async () => {
    await using ws = await makeWorkspace()
    await using llm = await startScriptedLlmServer({})
    const script = [
      'for (let i = 1; i <= 30; i++) console.error("starting, line " + i)',
      'console.error("fatal: DATABASE_URL is not set")',
      "process.exit(1)",
    ].join(";")
    const spec = buildRunSpec({
      workspace: ws.dir,
      llmUrl: llm.url,
      expert: {
        skills: { db: { ...fixtureSkill("tools"), args: ["-e", script] } },
      },
    })
    const result = await runScriptedSegment(spec)
    // The run starts and stops: a checkpoint to show, no LLM request, and nothing thrown (no crash to retry).
    expect(result.types.slice(-2)).toEqual(["startRun", "stopRunByError"])
    expect(llm.requests).toHaveLength(0)
    const error = result.terminal.type === "stopRunByError" ? result.terminal.error : undefined
    expect(error?.code).toBe("skill.startFailed")
    expect(error?.message).toMatch(/^skill "db" did not start: .*; the end of its stderr:\n/)
    expect(error?.message).toContain("starting, line 30\nfatal: DATABASE_URL is not set")
    // Only the end: the first lines stay in the skillStderr events.
    expect(error?.message).not.toContain("starting, line 1\n")
    expect(result.terminal.checkpoint.status).toBe("stoppedByError")
  })
})
