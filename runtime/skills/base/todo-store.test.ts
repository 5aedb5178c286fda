// TodoStore: ids continue after the checkpoint's, completion refuses unknown ids, clear restarts ids.
import { describe, expect, it } from "vitest"
import { TodoStore } from "./todo-store.ts"

describe("TodoStore", () => {
  it("numbers todos from 0", () => {
    const store = new TodoStore()
    store.add(["a", "b"])
    expect(store.list()).toEqual([
      { id: 0, title: "a", completed: false },
      { id: 1, title: "b", completed: false },
    ])
  })

  it("continues after the highest id it was created with, without sharing its objects", () => {
    const initial = [
      { id: 3, title: "x", completed: false },
      { id: 1, title: "y", completed: true },
    ]
    const store = new TodoStore(initial)
    store.add(["z"])
    store.complete([3])
    expect(store.list().map((todo) => [todo.id, todo.completed])).toEqual([
      [3, true],
      [1, true],
      [4, false],
    ])
    expect(initial[0]?.completed).toBe(false)
  })

  it("refuses unknown ids without changing anything", () => {
    const store = new TodoStore()
    store.add(["a"])
    expect(() => store.complete([0, 9])).toThrow(/9/)
    expect(store.list()[0]?.completed).toBe(false)
  })

  it("clears and restarts ids", () => {
    const store = new TodoStore([{ id: 5, title: "x", completed: false }])
    store.clear()
    store.add(["y"])
    expect(store.list()).toEqual([{ id: 0, title: "y", completed: false }])
  })
})
