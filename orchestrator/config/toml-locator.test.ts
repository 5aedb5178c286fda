import { describe, expect, it } from "vitest"
import { indexTomlLines, locate } from "./toml-locator.ts"

const text = `model = "a"
# a comment = not a key
[experts."writer"]
instruction = """
delegates = ["not a key: inside a multi-line string"]
"""
delegates = ["editor"]

[experts."writer".skills.'web-search']
type = "mcpStdioSkill"
provider.setting.baseUrl = "https://x"
`

describe("locate", () => {
  const index = indexTomlLines(text)
  it("finds keys under table headers, skipping multi-line strings and comments", () => {
    expect(locate(index, ["model"])).toBe(1)
    expect(locate(index, ["experts", "writer", "delegates", 0])).toBe(7)
    expect(locate(index, ["experts", "writer", "instruction"])).toBe(4)
    expect(locate(index, ["experts", "writer", "skills", "web-search", "type"])).toBe(10)
  })

  it("falls back to the nearest spelled-out parent", () => {
    expect(locate(index, ["experts", "writer", "skills", "web-search", "command"])).toBe(9)
    expect(locate(index, ["experts", "writer", "tags"])).toBe(3)
    expect(locate(index, ["experts", "nobody"])).toBeUndefined()
  })

  it("understands dotted keys", () => {
    expect(
      locate(index, ["experts", "writer", "skills", "web-search", "provider", "setting", "baseUrl"]),
    ).toBe(11)
  })
})
