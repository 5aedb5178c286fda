// createDirectory and deleteDirectory: make a folder (with its missing parents) or remove one.
import { lstat, mkdir, rm, rmdir } from "node:fs/promises"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const createDirectoryTool = defineBaseTool({
  name: "createDirectory",
  description:
    "Create a folder in the workspace, with any missing parent folders (like mkdir -p). Refuses when something already exists there. Returns {path}.",
  inputSchema: z.object({ path: z.string().describe("Folder path, relative to the workspace.") }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { mustExist: false })
    if (target.exists) throw new PerstackError("file.exists", `"${args.path}" already exists.`)
    await mkdir(target.absolute, { recursive: true })
    return jsonResult({ path: target.relative })
  },
})

export const deleteDirectoryTool = defineBaseTool({
  name: "deleteDirectory",
  description: [
    "Delete a folder in the workspace. Without `recursive` it must be empty; with `recursive: true` everything in it is deleted too.",
    "For files and symbolic links use deleteFile. Returns {path}.",
  ].join("\n"),
  inputSchema: z.object({
    path: z.string().describe("Folder path, relative to the workspace."),
    recursive: z.boolean().default(false).describe("Also delete everything inside the folder."),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { followFinalSymlink: false })
    if (target.relative === ".") {
      throw new PerstackError("workspace.root", "The workspace itself cannot be deleted.")
    }
    if (!(await lstat(target.absolute)).isDirectory()) {
      throw new PerstackError("file.notDirectory", `"${args.path}" is not a directory: use deleteFile.`)
    }
    if (args.recursive) {
      await rm(target.absolute, { recursive: true })
    } else {
      await rmdir(target.absolute).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error
        throw new PerstackError(
          "file.directoryNotEmpty",
          `"${args.path}" is not empty; pass recursive: true to delete it with everything inside.`,
        )
      })
    }
    return jsonResult({ path: target.relative })
  },
})
