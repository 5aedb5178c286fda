import { describe, expect, it } from "vitest"
import { evaluateFilter, filterPrefilter, parseFilterExpression } from "./filter-expression.ts"

const matches = (expression: string, value: unknown) =>
  evaluateFilter(parseFilterExpression(expression), value)

describe("parseFilterExpression", () => {
  it("reads a path, an operator and a value", () => {
    expect(parseFilterExpression('.toolCalls[].args["file-path"] != "x"')).toMatchObject({
      path: [
        { kind: "key", key: "toolCalls" },
        { kind: "each" },
        { kind: "key", key: "args" },
        { kind: "key", key: "file-path" },
      ],
      operator: "!=",
      value: "x",
    })
    expect(parseFilterExpression(" .stepNumber>=5 ").value).toBe(5)
    expect(parseFilterExpression(".a[2].b == -1.5e2").path).toEqual([
      { kind: "key", key: "a" },
      { kind: "index", index: 2 },
      { kind: "key", key: "b" },
    ])
    expect(parseFilterExpression(".a == -1.5e2").value).toBe(-150)
    expect(parseFilterExpression(".ok == true").value).toBe(true)
    expect(parseFilterExpression(".ok == null").value).toBe(null)
    expect(parseFilterExpression(".text == 'it\\'s'").value).toBe("it's")
    expect(parseFilterExpression('.text == "tab\\tand \\u00e9"').value).toBe("tab\tand é")
  })

  it.each([
    ["type == 1", 1, 'expected a path starting with "."'],
    [".type = 3", 7, 'expected an operator (== != >= <= > <) at position 7; did you mean "=="?'],
    [".type ~ 3", 7, "expected an operator"],
    [".type ==", 9, "expected a value"],
    [".type == exec", 10, 'expected a value at position 10; quote strings: "exec"'],
    ['.type == "open', 10, "unterminated string"],
    [".type == 1 2", 12, "unexpected text after the value"],
    [". == 1", 2, "expected a field name after '.'"],
    [".a[x] == 1", 4, 'expected "]", an index or a quoted key'],
    [".a[1 == 1", 5, 'expected "]"'],
  ])("refuses %j at position %i", (expression, position, message) => {
    const error = (() => {
      try {
        parseFilterExpression(expression)
      } catch (caught) {
        return caught as Error
      }
      throw new Error("no error")
    })()
    expect(error.message).toContain(message)
    expect(error.message).toContain(`at position ${position}`)
    // The caret points at the position, under the expression.
    const [, shown, caret] = error.message.split("\n")
    expect(shown).toBe(`  ${expression}`)
    expect(caret?.indexOf("^")).toBe(position + 1)
  })
})

describe("evaluateFilter", () => {
  const event = {
    type: "callTools",
    stepNumber: 4,
    toolCalls: [
      { toolName: "readTextFile", args: { path: "a.md" } },
      { toolName: "exec", args: { command: "ls", timeout: 30 } },
    ],
    experts: ["lead", "designer"],
    error: null,
  }

  it("compares scalars", () => {
    expect(matches('.type == "callTools"', event)).toBe(true)
    expect(matches('.type != "callTools"', event)).toBe(false)
    expect(matches(".stepNumber > 3", event)).toBe(true)
    expect(matches(".stepNumber <= 3", event)).toBe(false)
    expect(matches('.stepNumber == "4"', event)).toBe(false)
    expect(matches(".error == null", event)).toBe(true)
  })

  it("maps over arrays with [] and matches when any element does", () => {
    expect(matches('.toolCalls[].toolName == "exec"', event)).toBe(true)
    expect(matches('.toolCalls[].toolName == "writeTextFile"', event)).toBe(false)
    expect(matches(".toolCalls[].args.timeout >= 30", event)).toBe(true)
    expect(matches('.toolCalls[1].toolName == "exec"', event)).toBe(true)
    expect(matches('.toolCalls[0].toolName == "exec"', event)).toBe(false)
    // a path ending on an array compares its elements, as the original did
    expect(matches('.experts == "designer"', event)).toBe(true)
  })

  it("never matches a path that is not there, whatever the operator", () => {
    expect(matches('.missing != "x"', event)).toBe(false)
    expect(matches('.type[].x == "y"', event)).toBe(false)
    expect(matches('.toolCalls.toolName == "exec"', event)).toBe(false)
    expect(matches(".stepNumber.inner == 1", event)).toBe(false)
  })

  it("orders numbers with numbers and strings with strings only", () => {
    expect(matches('.type > "a"', event)).toBe(true)
    expect(matches('.stepNumber > "3"', event)).toBe(false)
  })
})

describe("filterPrefilter", () => {
  const pass = (expression: string, line: string) => {
    const prefilter = filterPrefilter(parseFilterExpression(expression))
    return prefilter ? prefilter(Buffer.from(line)) : "none"
  }

  it("rules out lines without the string, and only those", () => {
    expect(pass('.toolName == "exec"', '{"toolName":"exec"}')).toBe(true)
    expect(pass('.toolName == "exec"', '{"toolName":"ls"}')).toBe(false)
    // another spelling of the same string keeps the line in
    expect(pass('.toolName == "exec"', '{"toolName":"\\u0065xec"}')).toBe(true)
    expect(pass('.path == "a/b"', '{"path":"a\\/b"}')).toBe(true)
    expect(pass('.text == "é"', '{"text":"é"}')).toBe(true)
  })

  it("does not apply to other comparisons", () => {
    expect(pass(".stepNumber == 5", "{}")).toBe("none")
    expect(pass('.type != "x"', "{}")).toBe("none")
    expect(pass('.text == "a\\nb"', "{}")).toBe("none")
  })
})
