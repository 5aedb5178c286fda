// The list of error codes is the product's: each one is written somewhere, and every code the source writes is on it.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { ERROR_CODES } from "./error-codes.ts"

const root = path.resolve(import.meta.dirname, "../..")
const sources = execFileSync("git", ["ls-files", "runtime", "orchestrator"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file) && !file.includes("/testing/"))
  .filter((file) => !file.endsWith("errors/error-codes.ts"))
  .map((file) => ({ file, text: readFileSync(path.join(root, file), "utf8") }))

/** `code: "area.name"` in an object, and the first argument of the error constructors and replies. */
const WRITTEN = [
  /\bcode:\s*"([a-z][A-Za-z]*\.[A-Za-z.]+)"/g,
  /(?:PerstackError|ConfigError)\(\s*"([^"]+)"/g,
  /(?:HttpError|sendError\(\s*\w+,|refusal)\(?\s*\d+,\s*"([^"]+)"/g,
]

describe("error codes", () => {
  it("are listed once each, as area.name (or the CLI's `usage`)", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
    expect(
      ERROR_CODES.filter((code) => code !== "usage" && !/^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/.test(code)),
    ).toEqual([])
  })

  it("cover every code the source writes", () => {
    const listed = new Set<string>(ERROR_CODES)
    const unlisted = sources.flatMap(({ file, text }) =>
      WRITTEN.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => `${file}: ${match[1]}`)).filter(
        (entry) => !listed.has(entry.split(": ")[1] ?? ""),
      ),
    )
    expect(unlisted).toEqual([])
  })

  it("are each written somewhere (a code nothing writes is a stale entry)", () => {
    const all = sources.map(({ text }) => text).join("\n")
    expect(ERROR_CODES.filter((code) => !all.includes(`"${code}"`))).toEqual([])
  })
})
