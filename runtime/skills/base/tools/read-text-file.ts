// readTextFile: reads a text file, or a range of its lines, capped so one call cannot flood the context. A file
// that is not valid UTF-8 is read as Latin-1 (one character per byte) and said to be, never shown with U+FFFD.
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { readFileNoFollow, requireFile } from "../safe-file.ts"
import { decodeText, encodingNote, MAX_TEXT_FILE_BYTES } from "../text-encoding.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

/** the most content one call returns */
const MAX_CONTENT_BYTES = 256 * 1024
/** larger files are not read at all: use exec with head, tail, sed or grep */
const MAX_FILE_BYTES = MAX_TEXT_FILE_BYTES
/** a NUL byte this early means a binary file */
const BINARY_SNIFF_BYTES = 8 * 1024

export const readTextFileTool = defineBaseTool({
  name: "readTextFile",
  description: [
    "Read a text file in the workspace, whole or a range of lines.",
    "`from` and `to` are 0-based line indices, `to` exclusive (from 10, to 20 gives lines 10..19); leave them out to read from the start or to the end.",
    `At most ${MAX_CONTENT_BYTES / 1024} KiB of content is returned per call: when more is left, \`truncated\` is true and \`to\` says where to continue from.`,
    "Line ends are shown as they are in the file (\\r\\n in a CRLF file).",
    'A file that is not plain UTF-8 says so in `encoding`: "utf-8-bom" (the BOM is left out of content) or "latin1" (not valid UTF-8: each byte is shown as the Latin-1 character of that number), with a `note`.',
    "Returns {path, content, from, to, totalLines, truncated?, encoding?, note?}. For images use readImageFile, for PDFs readPdfFile.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("File path, relative to the workspace."),
    from: z.number().int().nonnegative().optional().describe("First line to read (0-based, inclusive)."),
    to: z.number().int().nonnegative().optional().describe("Line to stop before (0-based, exclusive)."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path)
    const size = await requireFile(target)
    if (size > MAX_FILE_BYTES) {
      throw new PerstackError(
        "file.tooLarge",
        `"${args.path}" is ${size} bytes, over the ${MAX_FILE_BYTES} bytes readTextFile reads; use exec with head, tail, sed or grep.`,
      )
    }
    const bytes = await readFileNoFollow(target.absolute)
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
      throw new PerstackError(
        "file.binary",
        `"${args.path}" looks like a binary file, not text. Use readImageFile or readPdfFile, or getFileInfo.`,
      )
    }
    const decoded = decodeText(bytes)
    const { text } = decoded
    const note = encodingNote(decoded)
    // Split keeps a trailing "" after a final newline, so joining a full range gives the file back exactly.
    const lines = text.split("\n")
    const totalLines = text === "" ? 0 : text.endsWith("\n") ? lines.length - 1 : lines.length
    const from = Math.min(args.from ?? 0, lines.length)
    const wanted = Math.max(from, Math.min(args.to ?? lines.length, lines.length))
    const { content, to, truncated } = takeLines(lines, from, wanted)
    return jsonResult({
      path: target.relative,
      content,
      from,
      to: Math.min(to, totalLines),
      totalLines,
      ...(truncated ? { truncated: true } : {}),
      ...(note !== undefined ? { encoding: decoded.encoding, note } : {}),
    })
  },
})

/** Takes whole lines from `from` up to `to` while they fit the cap; a single overlong line is cut and skipped past. */
function takeLines(
  lines: string[],
  from: number,
  to: number,
): { content: string; to: number; truncated: boolean } {
  let bytes = 0
  let end = from
  while (end < to) {
    const lineBytes = Buffer.byteLength(lines[end] ?? "") + (end > from ? 1 : 0)
    if (bytes + lineBytes > MAX_CONTENT_BYTES) break
    bytes += lineBytes
    end++
  }
  if (end === from && to > from) {
    const cut = Buffer.from(lines[from] ?? "")
      .subarray(0, MAX_CONTENT_BYTES)
      .toString("utf8")
    return { content: cut, to: from + 1, truncated: true }
  }
  return { content: lines.slice(from, end).join("\n"), to: end, truncated: end < to }
}
