// deleteFile: removes one file (or symbolic link) from the workspace.
import { lstat, unlink } from "node:fs/promises"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const deleteFileTool = defineBaseTool({
  name: "deleteFile",
  description:
    "Delete a file in the workspace. A symbolic link is removed itself, not what it points to. For folders use deleteDirectory. Returns {path}.",
  inputSchema: z.object({ path: z.string().describe("File path, relative to the workspace.") }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { followFinalSymlink: false })
    if ((await lstat(target.absolute)).isDirectory()) {
      throw new PerstackError("file.isDirectory", `"${args.path}" is a directory: use deleteDirectory.`)
    }
    await unlink(target.absolute)
    return jsonResult({ path: target.relative })
  },
})
