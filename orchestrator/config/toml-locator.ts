// Finds the line of a key path in TOML text, so schema errors can name a line (smol-toml gives no positions).

export type KeyPath = readonly (string | number)[]

function splitKey(text: string): string[] | undefined {
  const parts: string[] = []
  let rest = text.trim()
  while (rest.length > 0) {
    let match = /^"((?:[^"\\]|\\.)*)"/.exec(rest) ?? /^'([^']*)'/.exec(rest) ?? /^([A-Za-z0-9_-]+)/.exec(rest)
    if (!match) return undefined
    parts.push(match[1] ?? "")
    rest = rest.slice(match[0].length).trimStart()
    if (rest.length === 0) break
    match = /^\.\s*/.exec(rest)
    if (!match) return undefined
    rest = rest.slice(match[0].length)
  }
  return parts
}

/** Maps each table header and `key =` line to its 1-based line number. */
export function indexTomlLines(text: string): Map<string, number> {
  const lines = new Map<string, number>()
  let table: string[] = []
  let inMultiline: string | undefined
  text.split(/\r?\n/).forEach((line, index) => {
    const lineNumber = index + 1
    if (inMultiline !== undefined) {
      if (line.split(inMultiline).length % 2 === 0) inMultiline = undefined
      return
    }
    const header = /^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$/.exec(line)
    if (header) {
      const path = splitKey(header[1] ?? "")
      if (path) {
        table = path
        if (!lines.has(JSON.stringify(path))) lines.set(JSON.stringify(path), lineNumber)
      }
      return
    }
    const assignment = /^\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\s-])+?)\s*=(.*)$/.exec(line)
    if (!assignment) return
    const key = splitKey(assignment[1] ?? "")
    if (key) {
      const path = [...table, ...key]
      if (!lines.has(JSON.stringify(path))) lines.set(JSON.stringify(path), lineNumber)
    }
    for (const quote of ['"""', "'''"]) {
      if ((assignment[2] ?? "").split(quote).length % 2 === 0) inMultiline = quote
    }
  })
  return lines
}

/** The line of the most specific part of `path` that the file spells out, if any. */
export function locate(index: Map<string, number>, path: KeyPath): number | undefined {
  const keys = path.filter((segment): segment is string => typeof segment === "string")
  for (let length = keys.length; length > 0; length--) {
    const line = index.get(JSON.stringify(keys.slice(0, length)))
    if (line !== undefined) return line
  }
  return undefined
}
