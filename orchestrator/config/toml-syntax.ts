// What a TOML syntax error means, in words: smol-toml's reason, made exact where it names the symptom, not the cause.
import type { TomlError } from "smol-toml"

/** The reason to show for `error`, found parsing `text`. */
export function tomlSyntaxReason(error: TomlError, text: string): string {
  const reason = error.message.split("\n")[0]?.replace(/^Invalid TOML document:\s*/, "") ?? "invalid TOML"
  const line = text.split("\n")[error.line - 1]?.replace(/\r$/, "") ?? ""
  // smol-toml reports a string left open at the end of its line as the newline being a control character.
  if (reason === "control characters are not allowed in strings" && error.column > line.length) {
    return 'unterminated string: no closing quote before the end of the line (a "..." or \'...\' string ends on its line; use """...""" for text over several lines)'
  }
  if (reason === "unfinished string") {
    return "unterminated string: the string that starts here has no closing quote before the end of the file"
  }
  return reason
}
