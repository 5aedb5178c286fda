// Short, single-line renderings of text, numbers and times, shared by `perstack log`, the job tree and the TUI.

/** Text on one line (newlines and tabs become spaces), cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim()
  if (flat.length <= max) return flat
  let end = Math.max(0, max - 1)
  const code = flat.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${flat.slice(0, end)}…`
}

/** A quoted one-line preview. */
export function quote(text: string, max: number): string {
  return `"${oneLine(text, max)}"`
}

const grouped = new Intl.NumberFormat("en-US")

/** 1,234,567 */
export function count(value: number): string {
  return grouped.format(value)
}

/** 950, 12.3k, 4.5M */
export function compact(value: number): string {
  if (value < 1000) return String(value)
  if (value < 1_000_000) return `${trim(value / 1000)}k`
  return `${trim(value / 1_000_000)}M`
}

const trim = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, ""))

export function plural(value: number, word: string): string {
  return `${count(value)} ${word}${value === 1 ? "" : "s"}`
}

/** 20:43:49.477 (UTC, so a log reads the same everywhere) */
export function clockTime(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(11, 23)
}

/** 2026-11-21 20:43:49Z */
export function dateTime(timestamp: number): string {
  return `${new Date(timestamp).toISOString().slice(0, 19).replace("T", " ")}Z`
}

/** 850 ms, 12.3 s, 4m 06s, 2h 03m */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const seconds = Math.round(ms / 1000)
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`
}
