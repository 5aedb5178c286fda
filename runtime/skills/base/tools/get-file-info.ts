// getFileInfo: what a path is (type, size, times, permissions) without reading it.
import { constants } from "node:fs"
import { access, stat } from "node:fs/promises"
import path from "node:path"
import { z } from "zod"
import { defineBaseTool } from "../base-tool.ts"
import { mimeTypeOf } from "../mime-types.ts"
import { jsonResult } from "../tool-result.ts"
import { resolveWorkspacePath } from "../workspace-path.ts"

export const getFileInfoTool = defineBaseTool({
  name: "getFileInfo",
  description: [
    "Get facts about a file or folder in the workspace without reading it: type, size, MIME type, times and permissions.",
    "Returns {exists, path, absolutePath, name, directory, extension, type, mimeType, size, sizeFormatted, created, modified, accessed, permissions: {readable, writable, executable}}, or {exists: false, path} when nothing is there.",
  ].join("\n"),
  inputSchema: z.object({ path: z.string().describe("Path, relative to the workspace.") }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path, { mustExist: false })
    if (!target.exists) return jsonResult({ exists: false, path: target.relative })
    const stats = await stat(target.absolute)
    const type = stats.isFile() ? "file" : stats.isDirectory() ? "directory" : "other"
    const extension = stats.isFile() ? path.extname(target.absolute) : ""
    return jsonResult({
      exists: true,
      path: target.relative,
      absolutePath: target.absolute,
      name: path.basename(target.absolute),
      directory: path.dirname(target.relative),
      extension,
      type,
      mimeType: type === "file" ? mimeTypeOf(target.absolute) : null,
      size: stats.size,
      sizeFormatted: formatSize(stats.size),
      created: stats.birthtime.toISOString(),
      modified: stats.mtime.toISOString(),
      accessed: stats.atime.toISOString(),
      permissions: {
        readable: await can(target.absolute, constants.R_OK),
        writable: await can(target.absolute, constants.W_OK),
        executable: await can(target.absolute, constants.X_OK),
      },
    })
  },
})

async function can(absolute: string, mode: number): Promise<boolean> {
  return access(absolute, mode).then(
    () => true,
    () => false,
  )
}

function formatSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}
