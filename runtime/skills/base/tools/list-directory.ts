// listDirectory: a folder's entries, sorted by name, without the reserved perstack/ folder.
import { lstat, readdir } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"
import { isReserved, resolveWorkspacePath } from "../workspace-path.ts"

/** a huge folder is listed only in part: the model gets the count and can narrow down with exec */
const MAX_ITEMS = 2_000

export const listDirectoryTool = defineBaseTool({
  name: "listDirectory",
  description: [
    "List what is in a folder of the workspace (not recursive).",
    `Returns {path, items: [{name, path, type, size, modified}], total, truncated?} sorted by name; type is file, directory, symlink or other. At most ${MAX_ITEMS} items are listed.`,
  ].join("\n"),
  inputSchema: z.object({
    path: z
      .string()
      .default(".")
      .describe('Folder path, relative to the workspace ("." for the workspace itself).'),
  }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path)
    const names = (
      await readdir(target.absolute).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOTDIR") {
          throw new PerstackError(
            "file.notDirectory",
            `"${args.path}" is a file, not a directory: use readTextFile or getFileInfo.`,
          )
        }
        throw error
      })
    )
      .filter((name) => !isReserved(workspace, path.join(target.absolute, name)))
      .sort()
    const items = []
    for (const name of names.slice(0, MAX_ITEMS)) {
      const absolute = path.join(target.absolute, name)
      const stats = await lstat(absolute).catch(() => undefined)
      if (stats === undefined) continue // deleted while we were listing
      items.push({
        name,
        path: path.relative(workspace, absolute),
        type: stats.isSymbolicLink()
          ? "symlink"
          : stats.isDirectory()
            ? "directory"
            : stats.isFile()
              ? "file"
              : "other",
        size: stats.size,
        modified: stats.mtime.toISOString(),
      })
    }
    return jsonResult({
      path: target.relative,
      items,
      total: names.length,
      ...(names.length > MAX_ITEMS ? { truncated: true } : {}),
    })
  },
})
