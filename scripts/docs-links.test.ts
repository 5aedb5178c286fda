// The manual's links: every relative link in README.md and docs/ names a file that exists, and an anchor a heading
// of that file makes (as GitHub makes them).
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")

/** GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*]/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-")
}

async function anchorsIn(file: string): Promise<Set<string>> {
  const text = await readFile(file, "utf8")
  const anchors = new Set<string>()
  let fenced = false
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line)
    if (heading?.[1]) anchors.add(anchorOf(heading[1]))
  }
  return anchors
}

async function pages(): Promise<string[]> {
  const docs = (await readdir(path.join(repo, "docs"))).filter((name) => name.endsWith(".md"))
  return [path.join(repo, "README.md"), ...docs.map((name) => path.join(repo, "docs", name))]
}

describe("the manual's links", () => {
  it("resolve: every relative link names an existing file, and an anchor that file has", async () => {
    const broken: string[] = []
    for (const page of await pages()) {
      const text = (await readFile(page, "utf8")).replace(/```[\s\S]*?```/g, "")
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? ""
        if (/^[a-z]+:/.test(target)) continue
        const [file = "", anchor] = target.split("#")
        const resolved = file === "" ? page : path.resolve(path.dirname(page), file)
        const where = `${path.relative(repo, page)}: (${target})`
        const exists = await readFile(resolved).then(
          () => true,
          () => false,
        )
        if (!exists) broken.push(`${where}: no such file`)
        else if (anchor && resolved.endsWith(".md") && !(await anchorsIn(resolved)).has(anchor)) {
          broken.push(`${where}: no heading makes #${anchor}`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it("the README stays a front door: at most 15 KB", async () => {
    expect((await readFile(path.join(repo, "README.md"))).length).toBeLessThanOrEqual(15 * 1024)
  })
})
