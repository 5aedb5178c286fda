// "Did you mean" suggestions: the closest known word within a small edit distance.

/** Edit distance counting an adjacent swap as one edit ("modle" is one edit from "model"). */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  const rows = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY
  for (let i = 1; i <= x.length; i++) {
    const row = rows[i] ?? []
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1)
      row[j] = best
    }
  }
  return at(x.length, y.length)
}

/** The known word closest to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const distance = editDistance(word, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  const allowed = Math.max(1, Math.floor(word.length / 3))
  return bestDistance <= allowed ? best : undefined
}

export function didYouMean(word: string, known: Iterable<string>): string {
  const match = suggest(word, known)
  return match === undefined ? "" : ` (did you mean "${match}"?)`
}
