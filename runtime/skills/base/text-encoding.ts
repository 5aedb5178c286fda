// How the text tools turn a file's bytes into text and text back into bytes without changing a byte they were not
// asked to: UTF-8 (a BOM kept apart), or Latin-1 for a file that is not valid UTF-8 (one character per byte).
import { isUtf8 } from "node:buffer"
import { PerstackError } from "../../errors/perstack-error.ts"

export type TextEncoding = "utf-8" | "utf-8-bom" | "latin1"

export interface DecodedText {
  /** the file's text, the BOM left out */
  text: string
  encoding: TextEncoding
  /** where the first byte that is not UTF-8 is, for a Latin-1 file */
  notUtf8At?: { byte: number; line: number }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf])

/** Larger files are not decoded whole: readTextFile refuses them, and writes to them assume UTF-8. */
export const MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024

/**
 * A file that is valid UTF-8 is read as UTF-8; any other is read as Latin-1 (ISO-8859-1), where every byte is one
 * character of the same number, so encoding the text again gives the same bytes: an edit changes only its span.
 */
export function decodeText(bytes: Buffer): DecodedText {
  if (isUtf8(bytes)) {
    return bytes.subarray(0, 3).equals(BOM)
      ? { text: bytes.subarray(3).toString("utf8"), encoding: "utf-8-bom" }
      : { text: bytes.toString("utf8"), encoding: "utf-8" }
  }
  const byte = firstInvalidUtf8(bytes)
  let line = 0
  for (let i = 0; i < byte; i++) if (bytes[i] === 0x0a) line++
  return { text: bytes.toString("latin1"), encoding: "latin1", notUtf8At: { byte, line } }
}

/** The bytes of `text` in `encoding` (no BOM: that stays where it is). Refuses what Latin-1 cannot hold. */
export function encodeText(text: string, encoding: TextEncoding, file: string): Buffer {
  if (encoding !== "latin1") return Buffer.from(text, "utf8")
  // Buffer's latin1 encoder would keep only the low byte of such a character: a silent corruption.
  const wide = [...text].find((char) => (char.codePointAt(0) ?? 0) > 0xff)
  if (wide !== undefined) {
    throw new PerstackError(
      "file.unencodable",
      `"${file}" is not UTF-8 and is kept in Latin-1, which cannot hold "${wide}"; nothing was changed. Use only Latin-1 characters, or convert the file to UTF-8 first (exec: iconv -f latin1 -t utf-8).`,
    )
  }
  return Buffer.from(text, "latin1")
}

/** Bytes before the text: the BOM of a UTF-8 file that has one. */
export function prefixBytes(encoding: TextEncoding): Buffer {
  return encoding === "utf-8-bom" ? BOM : Buffer.alloc(0)
}

/** What readTextFile says about a file that is not plain UTF-8, so the model knows how its edits will be written. */
export function encodingNote(decoded: DecodedText): string | undefined {
  if (decoded.encoding === "utf-8-bom")
    return "UTF-8 with a byte order mark: the BOM is left out of content and kept in the file."
  if (decoded.encoding === "latin1") {
    const at = decoded.notUtf8At
    return `Not valid UTF-8 (first at byte ${at?.byte}, line ${at?.line}): shown as Latin-1, one character per byte. editTextFile, appendTextFile and writeTextFile keep it Latin-1 and refuse characters Latin-1 cannot hold.`
  }
  return undefined
}

/** "\r\n" when most of the file's line ends are CRLF, else "\n". */
export function lineEndingOf(text: string): "\n" | "\r\n" {
  let crlf = 0
  let lf = 0
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) {
    if (at > 0 && text.charCodeAt(at - 1) === 0x0d) crlf++
    else lf++
  }
  return crlf > lf ? "\r\n" : "\n"
}

/** `text` with its line ends (\n or \r\n) written as `eol`. */
export function withLineEndings(text: string, eol: "\n" | "\r\n"): string {
  const lf = text.replace(/\r\n/g, "\n")
  return eol === "\n" ? lf : lf.replace(/\n/g, "\r\n")
}

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence (bytes.length when there is none). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i] as number
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : 4
    if (lead >= 0x80 && (lead < 0xc2 || lead > 0xf4)) return i
    if (i + length > bytes.length) return i
    // The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
    const second = bytes[i + 1] as number
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf
    if (length > 1 && (second < low || second > high)) return i
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k] as number
      if (next < 0x80 || next > 0xbf) return i
    }
    i += length
  }
  return bytes.length
}
