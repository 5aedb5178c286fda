// editTextFile: replaces one exact, unique piece of text in a file, refusing when it is missing or ambiguous.
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { readFileNoFollow, requireFile, writeFileNoFollow } from "../safe-file.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

const normalizeLineEndings = (text: string) => text.replace(/\r\n/g, "\n")

export const editTextFileTool = defineBaseTool({
  name: "editTextFile",
  description: [
    "Change part of an existing text file: replace `oldText` with `newText`.",
    "`oldText` must match the file exactly (whitespace and indentation included) and exactly once; if it matches several places, include more surrounding lines to make it unique. Line endings are normalised to \\n.",
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
    await requireFile(target)
    const content = normalizeLineEndings((await readFileNoFollow(target.absolute)).toString("utf8"))
    const oldText = normalizeLineEndings(args.oldText)
    const newText = normalizeLineEndings(args.newText)
    const at = content.indexOf(oldText)
    if (at === -1) {
      throw new PerstackError(
        "edit.notFound",
        `oldText was not found in "${args.path}". It must match exactly, whitespace and indentation included; read the file again to copy the text.`,
      )
    }
    const matches = countOccurrences(content, oldText)
    if (matches > 1) {
      throw new PerstackError(
        "edit.ambiguous",
        `oldText matches ${matches} times in "${args.path}"; nothing was changed. Include more surrounding context in oldText so it matches exactly once.`,
      )
    }
    await writeFileNoFollow(
      target.absolute,
      content.slice(0, at) + newText + content.slice(at + oldText.length),
      "overwrite",
    )
    return jsonResult({ path: target.relative, line: countOccurrences(content.slice(0, at), "\n") })
  },
})

function countOccurrences(text: string, needle: string): number {
  let count = 0
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++
  return count
}
