// The base skill over a real MCP client: its tool list, the todo tools, healthCheck, and errors as results.
import { readFileSync } from "node:fs"
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { connectBaseSkill } from "./base-server.ts"
import { defineBaseTool } from "./base-tool.ts"
import { baseToolDefinitions } from "./base-tools.ts"
import { callTool, createTestWorkspace, runTool, type TestWorkspace } from "./test-workspace.ts"
import { TodoStore } from "./todo-store.ts"

const TOOL_NAMES = [
  "attemptCompletion",
  "todo",
  "clearTodo",
  "healthCheck",
  "exec",
  "readTextFile",
  "readImageFile",
  "readPdfFile",
  "writeTextFile",
  "appendTextFile",
  "editTextFile",
  "moveFile",
  "deleteFile",
  "getFileInfo",
  "listDirectory",
  "createDirectory",
  "deleteDirectory",
]

let ws: TestWorkspace
let connection: Awaited<ReturnType<typeof connectBaseSkill>>
beforeEach(async () => {
  ws = await createTestWorkspace()
  connection = await connectBaseSkill(ws.context)
})
afterEach(async () => {
  await connection.close()
  await ws.cleanup()
})

describe("tool list", () => {
  it("lists the 17 base tools under @perstack/base", async () => {
    const { tools } = await connection.client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual([...TOOL_NAMES].sort())
    expect(connection.client.getServerVersion()?.name).toBe("@perstack/base")
  })

  it("gives the LLM the same definitions the server lists, without starting it", async () => {
    const { tools } = await connection.client.listTools()
    const listed = tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema }))
    expect(baseToolDefinitions()).toEqual(listed)
    const exec = baseToolDefinitions().find((tool) => tool.name === "exec")
    expect(exec?.inputSchema).toMatchObject({ type: "object", required: ["command"] })
  })

  it("loads the MCP SDK only in the server module", async () => {
    const dir = import.meta.dirname
    const files = [
      ...(await readdir(dir)).filter((f) => f.endsWith(".ts")),
      ...(await readdir(path.join(dir, "tools"))).map((f) => path.join("tools", f)),
    ].filter((f) => !f.endsWith(".test.ts") && f !== "base-server.ts" && f !== "test-workspace.ts")
    for (const file of files) {
      expect(await readFile(path.join(dir, file), "utf8"), file).not.toContain("@modelcontextprotocol")
    }
  })
})

/** polls (briefly) until `probe` gives a value */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error("gave up waiting")
}

/** neither gone nor a zombie waiting to be reaped */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

describe("connection.callTool", () => {
  it("returns the tool's result, parsed, and stops a running exec when its signal aborts", async () => {
    expect(await connection.callTool("todo", { newTodos: ["a"] })).toEqual({
      content: [{ type: "text", text: JSON.stringify({ todos: [{ id: 0, title: "a", completed: false }] }) }],
    })
    const controller = new AbortController()
    const pidFile = path.join(ws.workspace, "pid")
    const running = connection.callTool(
      "exec",
      { command: "bash", args: ["-c", `echo $$ > ${pidFile}; exec sleep 30`] },
      { signal: controller.signal },
    )
    const pid = await waitFor(async () => Number(await readFile(pidFile, "utf8")) || undefined)
    controller.abort()
    await expect(running).rejects.toThrow()
    // The cancellation reaches the server, which kills the command.
    await waitFor(async () => (isRunning(pid) ? undefined : true))
  })
})

describe("todo tools", () => {
  it("adds and completes todos, and attemptCompletion reports the open ones", async () => {
    const added = await callTool(connection.client, "todo", { newTodos: ["read", "write", "test"] })
    expect(added.json).toEqual({
      todos: [
        { id: 0, title: "read", completed: false },
        { id: 1, title: "write", completed: false },
        { id: 2, title: "test", completed: false },
      ],
    })
    await callTool(connection.client, "todo", { completedTodos: [0, 2] })
    const attempt = await callTool(connection.client, "attemptCompletion")
    expect(attempt).toMatchObject({
      isError: false,
      json: { remainingTodos: [{ id: 1, title: "write", completed: false }] },
    })
    await callTool(connection.client, "todo", { completedTodos: [1] })
    expect((await callTool(connection.client, "attemptCompletion")).json).toEqual({})
  })

  it("keeps the list in the context's store, continuing its ids", async () => {
    const todos = new TodoStore([{ id: 4, title: "old", completed: true }])
    await runTool("todo", { newTodos: ["new"] }, { ...ws.context, todos })
    expect(todos.list()).toEqual([
      { id: 4, title: "old", completed: true },
      { id: 5, title: "new", completed: false },
    ])
  })

  it("refuses an unknown id and changes nothing", async () => {
    const result = await callTool(connection.client, "todo", { newTodos: ["a"], completedTodos: [7] })
    expect(result).toMatchObject({ isError: true, json: { error: "todo.unknownId" } })
    expect(ws.context.todos.list()).toEqual([])
  })

  it("clearTodo empties the list and restarts ids", async () => {
    await callTool(connection.client, "todo", { newTodos: ["a", "b"] })
    expect((await callTool(connection.client, "clearTodo")).json).toEqual({ todos: [] })
    const again = await callTool(connection.client, "todo", { newTodos: ["c"] })
    expect(again.json).toEqual({ todos: [{ id: 0, title: "c", completed: false }] })
  })
})

describe("healthCheck", () => {
  it("reports ok with the workspace and pid", async () => {
    const result = await callTool(connection.client, "healthCheck")
    expect(result.json).toMatchObject({ status: "ok", workspace: ws.workspace, pid: process.pid })
    expect(result.json.uptime).toMatch(/^\d+s$/)
  })
})

describe("errors become results", () => {
  it("turns an exception inside a tool into an isError result", async () => {
    const tool = defineBaseTool({
      name: "boom",
      description: "throws",
      inputSchema: z.object({}),
      run: async () => {
        throw new TypeError("kaboom")
      },
    })
    const result = await tool.run({}, ws.context)
    expect(result.isError).toBe(true)
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual({
      error: "TypeError",
      message: "kaboom",
    })
  })

  it("turns a thrown non-Error into an isError result", async () => {
    const tool = defineBaseTool({
      name: "boom",
      description: "throws a string",
      inputSchema: z.object({}),
      run: async () => Promise.reject("just a string"),
    })
    const result = await tool.run({}, ws.context)
    expect(result).toMatchObject({ isError: true })
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual({
      error: "Error",
      message: "just a string",
    })
  })

  it("reports a file-system failure through MCP as an error result", async () => {
    const result = await callTool(connection.client, "readTextFile", { path: "." })
    expect(result).toMatchObject({ isError: true, json: { error: "file.isDirectory" } })
  })

  it("refuses invalid arguments, also when a tool is run without the server", async () => {
    const viaMcp = await connection.client.callTool({ name: "readTextFile", arguments: { path: 42 } })
    expect(viaMcp.isError).toBe(true)
    const direct = await runTool("readTextFile", { path: 42 }, ws.context)
    expect(direct).toMatchObject({ isError: true, json: { error: "tool.invalidArguments" } })
    expect(String(direct.json.message)).toContain("path")
  })
})
