// moveFile: renames or moves a file or folder within the workspace, creating the destination's parent folders.
import { mkdir, rename } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"
import { isInside, resolveWorkspacePath } from "../workspace-path.ts"

export const moveFileTool = defineBaseTool({
  name: "moveFile",
  description: [
    "Move or rename a file or folder within the workspace. The destination must not exist yet; its missing parent folders are created.",
    "A symbolic link is moved itself, not what it points to. Returns {source, destination}.",
  ].join("\n"),
  inputSchema: z.object({
    source: z.string().describe("Current path, relative to the workspace."),
    destination: z.string().describe("New path, relative to the workspace."),
  }),
  async run(args, { workspace }) {
    const source = await resolveWorkspacePath(workspace, args.source, { followFinalSymlink: false })
    if (source.relative === ".") {
      throw new PerstackError("workspace.root", "The workspace itself cannot be moved.")
    }
    const destination = await resolveWorkspacePath(workspace, args.destination, { mustExist: false })
    if (destination.exists) {
      throw new PerstackError(
        "file.exists",
        `Destination "${args.destination}" already exists; moveFile does not overwrite. Delete it first or pick another name.`,
      )
    }
    if (isInside(source.absolute, destination.absolute)) {
      throw new PerstackError("file.moveIntoItself", `"${args.source}" cannot be moved into itself.`)
    }
    await mkdir(path.dirname(destination.absolute), { recursive: true })
    await rename(source.absolute, destination.absolute)
    return jsonResult({ source: source.relative, destination: destination.relative })
  },
})
