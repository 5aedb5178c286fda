// editTextFile: replaces one exact, unique piece of text in a file, refusing when it is missing or ambiguous.
// Only the bytes of the replaced span change: the file's encoding, BOM and other lines' line ends are kept.
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { readFileNoFollow, requireFile, writeFileNoFollow } from "../safe-file.ts"
import {
  decodeText,
  encodeText,
  lineEndingOf,
  MAX_TEXT_FILE_BYTES,
  prefixBytes,
  type TextEncoding,
  withLineEndings,
} from "../text-encoding.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const editTextFileTool = defineBaseTool({
  name: "editTextFile",
  description: [
    "Change part of an existing text file: replace `oldText` with `newText`.",
    "`oldText` must match the file exactly (whitespace and indentation included) and exactly once; if it matches several places, include more surrounding lines to make it unique. Its line ends may be \\n or \\r\\n whatever the file uses; `newText` is written with the file's line ends.",
    "Nothing outside the replaced text changes: a file that is not UTF-8 stays Latin-1 (see readTextFile's `encoding`), a BOM stays.",
    "To delete text pass an empty `newText`. To add to the end of a file use appendTextFile; to rewrite a whole file use writeTextFile.",
    "Returns {path, line} where line is the 0-based line the replacement starts on.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("File path, relative to the workspace."),
    oldText: z.string().min(1).describe("Exact text to replace; must occur exactly once in the file."),
    newText: z.string().describe("Text to put in its place."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path)
    const size = await requireFile(target)
    if (size > MAX_TEXT_FILE_BYTES) {
      throw new PerstackError(
        "file.tooLarge",
        `"${args.path}" is ${size} bytes, over the ${MAX_TEXT_FILE_BYTES} bytes editTextFile edits; use exec with sed.`,
      )
    }
    const bytes = await readFileNoFollow(target.absolute)
    const { text, encoding } = decodeText(bytes)
    // Matched with every \r\n read as \n, then mapped back to the file's own text.
    const view = lineEndView(text)
    const oldText = args.oldText.replace(/\r\n/g, "\n")
    const at = view.text.indexOf(oldText)
    if (at === -1) {
      const hint =
        encoding === "latin1" ? " The file is not UTF-8: it reads as Latin-1 (see readTextFile)." : ""
      throw new PerstackError(
        "edit.notFound",
        `oldText was not found in "${args.path}". It must match exactly, whitespace and indentation included; read the file again to copy the text.${hint}`,
      )
    }
    const matches = countOccurrences(view.text, oldText)
    if (matches > 1) {
      throw new PerstackError(
        "edit.ambiguous",
        `oldText matches ${matches} times in "${args.path}"; nothing was changed. Include more surrounding context in oldText so it matches exactly once.`,
      )
    }
    const start = view.toText(at)
    const end = view.toText(at + oldText.length)
    const replacement = encodeText(withLineEndings(args.newText, lineEndingOf(text)), encoding, args.path)
    const startByte = prefixBytes(encoding).length + byteLength(text.slice(0, start), encoding)
    const endByte = startByte + byteLength(text.slice(start, end), encoding)
    await writeFileNoFollow(
      target.absolute,
      Buffer.concat([bytes.subarray(0, startByte), replacement, bytes.subarray(endByte)]),
      "overwrite",
    )
    return jsonResult({ path: target.relative, line: countOccurrences(view.text.slice(0, at), "\n") })
  },
})

const byteLength = (text: string, encoding: TextEncoding) =>
  Buffer.byteLength(text, encoding === "latin1" ? "latin1" : "utf8")

/** The text with each \r\n as \n, and a map from an offset in it back to the same place in the text. */
function lineEndView(text: string): { text: string; toText(offset: number): number } {
  // Offsets (in the view) of the \n each dropped \r stood before, ascending.
  const dropped: number[] = []
  let view = ""
  let from = 0
  for (let at = text.indexOf("\r\n"); at !== -1; at = text.indexOf("\r\n", at + 2)) {
    view += text.slice(from, at)
    dropped.push(view.length)
    from = at + 1
  }
  view += text.slice(from)
  return {
    text: view,
    toText(offset) {
      // Each \r dropped before `offset` moves it one on; an offset at a \n lands on its \r.
      let low = 0
      let high = dropped.length
      while (low < high) {
        const mid = (low + high) >>> 1
        if ((dropped[mid] as number) < offset) low = mid + 1
        else high = mid
      }
      return offset + low
    },
  }
}

function countOccurrences(text: string, needle: string): number {
  let count = 0
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++
  return count
}
