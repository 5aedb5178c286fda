// Putting the store's text into HTML: everything in it is untrusted (a model can write `</script><script>` into a
// message), so text is escaped for element content and attributes, and data for a script block is JSON with every
// character that could end the block or start markup written as a \u escape.

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
}

/** Text safe in element content and in a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] as string)
}

/** JSON safe inside `<script type="application/json">`: no `<`, `>` or `&` (so no `</script>`, no `<!--`), no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  )
}
