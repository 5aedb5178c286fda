// writeTextFile and appendTextFile: create, overwrite or extend a text file in the workspace. A new file is UTF-8;
// an existing one keeps its encoding (a BOM, Latin-1), so no byte it already had is re-encoded behind the model's back.
import { mkdir } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { readFileNoFollow, requireFile, writeFileNoFollow } from "../safe-file.ts"
import {
  type DecodedText,
  decodeText,
  encodeText,
  lineEndingOf,
  MAX_TEXT_FILE_BYTES,
  prefixBytes,
  withLineEndings,
} from "../text-encoding.ts"
import { jsonResult } from "../tool-result.ts"
import type { WorkspacePath } from "../workspace-path.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const writeTextFileTool = defineBaseTool({
  name: "writeTextFile",
  description: [
    "Create a text file in the workspace (UTF-8), or replace its whole content. Missing parent folders are created.",
    "An existing file keeps its encoding: a UTF-8 BOM stays, a Latin-1 file stays Latin-1 (see readTextFile's `encoding`).",
    "To change part of an existing file use editTextFile; to add to its end use appendTextFile.",
    "Returns {path, bytes, created, encoding?}.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("File path, relative to the workspace."),
    text: z.string().describe("The file's entire new content."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { mustExist: false })
    const existing = target.exists ? await readExisting(target) : undefined
    const encoding = existing?.encoding ?? "utf-8"
    const data = Buffer.concat([prefixBytes(encoding), encodeText(args.text, encoding, args.path)])
    await mkdir(path.dirname(target.absolute), { recursive: true })
    await writeFileNoFollow(target.absolute, data, "overwrite")
    return jsonResult({
      path: target.relative,
      bytes: data.length,
      created: !target.exists,
      ...(encoding !== "utf-8" ? { encoding } : {}),
    })
  },
})

export const appendTextFileTool = defineBaseTool({
  name: "appendTextFile",
  description: [
    "Add text to the end of an existing text file in the workspace (nothing is inserted between: include a leading newline if you need one).",
    "The text is written in the file's encoding and with its line ends (\\r\\n in a CRLF file).",
    "The file must exist; create it with writeTextFile. Returns {path, appendedBytes, size}.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("File path, relative to the workspace."),
    text: z.string().describe("Text to add at the end."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path).catch((error: unknown) => {
      if (error instanceof PerstackError && error.code === "workspace.notFound") {
        throw new PerstackError(
          "workspace.notFound",
          `File "${args.path}" does not exist: appendTextFile only extends existing files; create it with writeTextFile.`,
        )
      }
      throw error
    })
    const existing = await readExisting(target)
    const before = existing?.size ?? (await requireFile(target))
    const text = existing ? withLineEndings(args.text, lineEndingOf(existing.text)) : args.text
    const data = encodeText(text, existing?.encoding ?? "utf-8", args.path)
    await writeFileNoFollow(target.absolute, data, "append")
    return jsonResult({ path: target.relative, appendedBytes: data.length, size: before + data.length })
  },
})

/** The existing file's text and encoding; undefined for one too large to decode (then written as UTF-8). */
async function readExisting(target: WorkspacePath): Promise<(DecodedText & { size: number }) | undefined> {
  const size = await requireFile(target)
  if (size > MAX_TEXT_FILE_BYTES) return undefined
  return { ...decodeText(await readFileNoFollow(target.absolute)), size }
}
