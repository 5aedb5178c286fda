// The todo family: plan with `todo`, start over with `clearTodo`, and finish with `attemptCompletion`.
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"

export const attemptCompletionTool = defineBaseTool({
  name: "attemptCompletion",
  description: [
    "Finish the task: call this, on its own, when the work is done.",
    "If todos are still open you get {remainingTodos} back and the run goes on: finish them (marking them completed with `todo`) and call this again.",
    "Returns {} when nothing is left; you are then asked for your final answer.",
  ].join("\n"),
  inputSchema: z.object({}),
  async run(_args, { todos }) {
    const remainingTodos = todos.list().filter((todo) => !todo.completed)
    return jsonResult(remainingTodos.length > 0 ? { remainingTodos } : {})
  },
})

export const todoTool = defineBaseTool({
  name: "todo",
  description: [
    "Keep a todo list for a task of several steps: add todos, and mark them completed by id as you finish them.",
    "Ids are numbers given in order of creation. Every call returns the whole list as {todos: [{id, title, completed}]}; call it with no arguments to see the list.",
    "The list is kept for the whole run, including after a resume; attemptCompletion reports todos still open.",
  ].join("\n"),
  inputSchema: z.object({
    newTodos: z.array(z.string().min(1)).optional().describe("Titles of todos to add."),
    completedTodos: z
      .array(z.number().int().nonnegative())
      .optional()
      .describe("Ids of todos that are now completed."),
  }),
  async run({ newTodos = [], completedTodos = [] }, { todos }) {
    // Check ids first (those this call adds included) so a bad id changes nothing.
    const known = new Set(todos.list().map((todo) => todo.id))
    for (let i = 0; i < newTodos.length; i++) known.add(todos.nextId + i)
    const unknown = completedTodos.filter((id) => !known.has(id))
    if (unknown.length > 0) {
      throw new PerstackError(
        "todo.unknownId",
        `Unknown todo id(s): ${unknown.join(", ")}. Nothing was changed; call todo with no arguments to see the list.`,
      )
    }
    todos.add(newTodos)
    todos.complete(completedTodos)
    return jsonResult({ todos: todos.list() })
  },
})

export const clearTodoTool = defineBaseTool({
  name: "clearTodo",
  description: "Empty the todo list, to start planning afresh. Ids start again from 0. Returns {todos: []}.",
  inputSchema: z.object({}),
  async run(_args, { todos }) {
    todos.clear()
    return jsonResult({ todos: [] })
  },
})
