// The manual's links: every relative link in README.md and docs/*.md (inline or by reference) names a file or folder
// that exists, and an anchor a heading of that page makes (as GitHub makes them); so does every `.md` page the text
// names by its path from the repository's root (`docs/sandboxes.md#kubernetes` in a code block's comment). A broken
// one fails with its page, line and link.
import { readdir, readFile, stat } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")

/** GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces to hyphens. */
function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*]/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-")
}

/** The page's lines, each with whether it sits in a fenced code block. */
function linesOf(text: string): Array<{ text: string; fenced: boolean; number: number }> {
  let fenced = false
  return text.split("\n").map((line, index) => {
    const fence = /^\s*```/.test(line)
    if (fence) fenced = !fenced
    return { text: line, fenced: fenced || fence, number: index + 1 }
  })
}

/** The anchors a page's headings make; a repeated heading gets -1, -2, ... as on GitHub. */
async function anchorsIn(file: string): Promise<Set<string>> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of linesOf(await readFile(file, "utf8"))) {
    const heading = line.fenced ? null : /^#{1,6} (.+?)#*\s*$/.exec(line.text)
    if (!heading?.[1]) continue
    const slug = slugOf(heading[1])
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

interface Link {
  page: string
  line: number
  target: string
  /** the folder the target is relative to */
  base: string
}

async function linksIn(page: string): Promise<Link[]> {
  const links: Link[] = []
  for (const line of linesOf(await readFile(page, "utf8"))) {
    const at = (target: string, base = path.dirname(page)) =>
      links.push({ page, line: line.number, target, base })
    if (!line.fenced) {
      // Inline code is not a link: `[a](b)` there is text.
      const prose = line.text.replace(/`[^`]*`/g, "")
      for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) at(match[1] ?? "")
      const reference = /^\s*\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(prose)
      if (reference?.[1]) at(reference[1])
    }
    // A page named by its path from the root, in code or a code block: a reader follows it as a link.
    for (const match of line.text.matchAll(/(?<![\w./-])((?:[\w-]+\/)+[\w.-]+\.md(?:#[\w-]+)?)(?![\w/])/g)) {
      at(match[1] ?? "", repo)
    }
  }
  // A link's target is also a path mention: each (line, target) once.
  const once = new Map(links.map((link) => [`${link.line} ${link.target}`, link]))
  return [...once.values()].filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link.target))
}

async function pages(): Promise<string[]> {
  const docs = (await readdir(path.join(repo, "docs"))).filter((name) => name.endsWith(".md"))
  return [path.join(repo, "README.md"), ...docs.sort().map((name) => path.join(repo, "docs", name))]
}

async function broken(link: Link): Promise<string | undefined> {
  const [file = "", anchor] = link.target.split("#")
  const resolved = file === "" ? link.page : path.resolve(link.base, decodeURIComponent(file))
  const found = await stat(resolved).catch(() => undefined)
  if (!found) return "no such file"
  if (anchor && found.isFile() && resolved.endsWith(".md") && !(await anchorsIn(resolved)).has(anchor)) {
    return `no heading of ${path.relative(repo, resolved)} makes #${anchor}`
  }
  return undefined
}

describe("the manual's links", () => {
  it("covers the README and every page of docs/", async () => {
    const names = (await pages()).map((page) => path.relative(repo, page))
    expect(names).toContain("README.md")
    expect(names).toContain("docs/compatibility.md")
    expect(names.length).toBe(
      1 + (await readdir(path.join(repo, "docs"))).filter((n) => n.endsWith(".md")).length,
    )
  })

  it("resolve: every relative link names an existing file, and an anchor that file has", async () => {
    const problems: string[] = []
    let checked = 0
    for (const page of await pages()) {
      for (const link of await linksIn(page)) {
        checked++
        const problem = await broken(link)
        if (problem)
          problems.push(`${path.relative(repo, link.page)}:${link.line}: (${link.target}): ${problem}`)
      }
    }
    expect(problems).toEqual([])
    // The README's manual table alone has 13 links: a parser that finds none must not pass.
    expect(checked).toBeGreaterThan(20)
  })

  it("finds a broken link's page, line and reason, and GitHub's anchors for repeated headings", async () => {
    const page = path.join(repo, "docs/sandboxes.md")
    expect(await broken({ page, line: 1, target: "no-such-page.md", base: path.dirname(page) })).toBe(
      "no such file",
    )
    expect(
      await broken({ page, line: 1, target: "security.md#no-such-heading", base: path.dirname(page) }),
    ).toBe("no heading of docs/security.md makes #no-such-heading")
    expect(await broken({ page, line: 1, target: "#kubernetes", base: path.dirname(page) })).toBeUndefined()
    expect(await broken({ page, line: 1, target: "../k8s", base: path.dirname(page) })).toBeUndefined()
    const anchors = await anchorsIn(page)
    expect(anchors).toContain("tests-and-figures")
    expect(anchors).toContain("tests-and-figures-1")
  })

  it("the README stays a front door: at most 15 KB", async () => {
    expect((await readFile(path.join(repo, "README.md"))).length).toBeLessThanOrEqual(15 * 1024)
  })
})
