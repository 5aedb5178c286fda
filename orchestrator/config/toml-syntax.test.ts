import { describe, expect, it } from "vitest"
import type { ConfigError } from "./config-problem.ts"
import { parseConfigText } from "./load-config.ts"

/** The first line of the message perstack.toml `text` is refused with. */
function refusal(text: string): string {
  try {
    parseConfigText(text, "perstack.toml")
  } catch (error) {
    return (error as ConfigError).message.split("\n")[0] ?? ""
  }
  throw new Error("accepted")
}

describe("perstack.toml messages that say what is wrong", () => {
  it("calls a string left open at the end of its line unterminated, not a control character", () => {
    expect(refusal('[experts."a"]\ninstruction = "Write\ndelegates = []\n')).toBe(
      'perstack.toml:2:21: TOML syntax error: unterminated string: no closing quote before the end of the line (a "..." or \'...\' string ends on its line; use """...""" for text over several lines)',
    )
    expect(refusal('[experts."a"]\ninstruction = \'Write\n')).toContain("unterminated string")
    // A real control character in a string keeps its own message.
    expect(refusal('[experts."a"]\ninstruction = "Wr\u0001ite"\n')).toContain(
      "control characters are not allowed in strings",
    )
  })

  it("names a multi-line string left open at the end of the file", () => {
    expect(refusal('[experts."a"]\ninstruction = """Write\nand write\n')).toBe(
      "perstack.toml:2:15: TOML syntax error: unterminated string: the string that starts here has no closing quote before the end of the file",
    )
  })

  it("says a number must be finite (1e309, inf, nan), not 'expected number, got number'", () => {
    for (const [literal, shown] of [
      ["1e309", "Infinity"],
      ["inf", "Infinity"],
      ["-inf", "-Infinity"],
      ["nan", "NaN"],
    ]) {
      expect(refusal(`timeout = ${literal}\n[experts."a"]\ninstruction = "x"\n`)).toBe(
        `perstack.toml:1:1: timeout: expected a finite number, got ${shown}`,
      )
    }
  })
})
