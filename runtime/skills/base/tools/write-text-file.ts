// writeTextFile and appendTextFile: create, overwrite or extend a UTF-8 file in the workspace.
import { mkdir } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { requireFile, writeFileNoFollow } from "../safe-file.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const writeTextFileTool = defineBaseTool({
  name: "writeTextFile",
  description: [
    "Create a UTF-8 text file in the workspace, or replace its whole content. Missing parent folders are created.",
    "To change part of an existing file use editTextFile; to add to its end use appendTextFile.",
    "Returns {path, bytes, created}.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("File path, relative to the workspace."),
    text: z.string().describe("The file's entire new content."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { mustExist: false })
    if (target.exists) await requireFile(target)
    await mkdir(path.dirname(target.absolute), { recursive: true })
    await writeFileNoFollow(target.absolute, args.text, "overwrite")
    return jsonResult({ path: target.relative, bytes: Buffer.byteLength(args.text), created: !target.exists })
  },
})

export const appendTextFileTool = defineBaseTool({
  name: "appendTextFile",
  description: [
    "Add text to the end of an existing UTF-8 file in the workspace (nothing is inserted between: include a leading newline if you need one).",
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
    const before = await requireFile(target)
    await writeFileNoFollow(target.absolute, args.text, "append")
    const appendedBytes = Buffer.byteLength(args.text)
    return jsonResult({ path: target.relative, appendedBytes, size: before + appendedBytes })
  },
})
