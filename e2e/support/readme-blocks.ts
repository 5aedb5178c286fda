// The README's fenced code blocks as the units a user runs: each command line of a shell block (its trailing comment
// is kept in the text, dropped from the key), and each other block (toml, ts, Dockerfile...) whole.
import { readFile } from "node:fs/promises"

export interface ReadmeUnit {
  /** a shell command without its comment and with its spaces collapsed; `<lang>: <first line>` for other blocks */
  key: string
  /** what the user types or writes, as the README has it */
  text: string
  lang: string
  /** the README's line where it starts, 1-based */
  line: number
}

const SHELLS = new Set(["sh", "bash", "shell", "console", "zsh"])

/** A comment starts at a `#` after a space, outside quotes. */
function withoutComment(command: string): string {
  let quote = ""
  for (let i = 0; i < command.length; i++) {
    const char = command[i]
    if (quote) {
      if (char === quote) quote = ""
    } else if (char === '"' || char === "'") quote = char
    else if (char === "#" && (i === 0 || /\s/.test(command[i - 1] ?? ""))) return command.slice(0, i)
  }
  return command
}

export function readmeUnits(markdown: string): ReadmeUnit[] {
  const units: ReadmeUnit[] = []
  const all = markdown.split("\n")
  for (let i = 0; i < all.length; i++) {
    const fence = /^```(\S*)/.exec(all[i] ?? "")
    if (!fence) continue
    const lang = fence[1] ?? ""
    const start = i + 1
    const body: string[] = []
    for (i++; i < all.length && !(all[i] ?? "").startsWith("```"); i++) body.push(all[i] ?? "")
    if (!SHELLS.has(lang)) {
      units.push({ key: `${lang}: ${body[0] ?? ""}`, text: `${body.join("\n")}\n`, lang, line: start })
      continue
    }
    for (let j = 0; j < body.length; j++) {
      const first = j
      let text = body[j] ?? ""
      while (text.endsWith("\\") && j + 1 < body.length) text = `${text}\n${body[++j]}`
      const key = withoutComment(text.replace(/\\\n/g, " ")).replace(/\s+/g, " ").trim()
      if (key) units.push({ key, text, lang, line: start + first + 1 })
    }
  }
  return units
}

export async function readmeUnitsOf(file: string): Promise<ReadmeUnit[]> {
  return readmeUnits(await readFile(file, "utf8"))
}
