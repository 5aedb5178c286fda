// The run's todo list: created from the checkpoint, changed by the todo tools, read back into the checkpoint.
import { PerstackError } from "../../errors/perstack-error.ts"
import type { Todo } from "../../protocol/checkpoint.ts"

export class TodoStore {
  #todos: Todo[]
  #nextId: number

  constructor(initial: readonly Todo[] = []) {
    this.#todos = initial.map((todo) => ({ ...todo }))
    this.#nextId = this.#todos.reduce((max, todo) => Math.max(max, todo.id + 1), 0)
  }

  /** a copy: callers cannot change the store behind its back */
  list(): Todo[] {
    return this.#todos.map((todo) => ({ ...todo }))
  }

  /** the id the next added todo will get */
  get nextId(): number {
    return this.#nextId
  }

  add(titles: string[]): void {
    for (const title of titles) this.#todos.push({ id: this.#nextId++, title, completed: false })
  }

  /** Marks todos done; refuses, changing nothing, when an id is unknown. */
  complete(ids: number[]): void {
    const known = new Set(this.#todos.map((todo) => todo.id))
    const unknown = ids.filter((id) => !known.has(id))
    if (unknown.length > 0) {
      throw new PerstackError(
        "todo.unknownId",
        `Unknown todo id(s): ${unknown.join(", ")}. Known ids: ${[...known].join(", ") || "none"}.`,
      )
    }
    const done = new Set(ids)
    for (const todo of this.#todos) if (done.has(todo.id)) todo.completed = true
  }

  /** Empties the list; ids start again from 0. */
  clear(): void {
    this.#todos = []
    this.#nextId = 0
  }
}
