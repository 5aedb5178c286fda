// readImageFile and readPdfFile: return the file itself (base64) as MCP image / resource content for the model to see.
import path from "node:path"
import { pathToFileURL } from "node:url"
import { z } from "zod"
import { PerstackError } from "../../../errors/perstack-error.ts"
import { defineBaseTool } from "../base-tool.ts"
import { IMAGE_MIME_TYPES } from "../mime-types.ts"
import { readFileNoFollow, requireFile } from "../safe-file.ts"
import { resolveWorkspacePath, type WorkspacePath } from "../workspace-path.ts"

const MAX_IMAGE_BYTES = 15 * 1024 * 1024
const MAX_PDF_BYTES = 30 * 1024 * 1024
const MiB = 1024 * 1024

export const readImageFileTool = defineBaseTool({
  name: "readImageFile",
  description: `Look at an image file in the workspace (PNG, JPEG, GIF or WebP, at most ${MAX_IMAGE_BYTES / MiB} MiB). The image itself is returned, after a text item {path, mimeType, size}.`,
  inputSchema: z.object({ path: z.string().describe("Image path, relative to the workspace.") }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path)
    const mimeType = IMAGE_MIME_TYPES[path.extname(target.absolute).toLowerCase()]
    if (mimeType === undefined) {
      throw new PerstackError(
        "file.unsupportedType",
        `"${args.path}" is not a supported image: use a .png, .jpg, .jpeg, .gif or .webp file.`,
      )
    }
    const data = await readLimited(target, MAX_IMAGE_BYTES)
    return {
      content: [
        { type: "text", text: JSON.stringify({ path: target.relative, mimeType, size: data.length }) },
        { type: "image", data: data.toString("base64"), mimeType },
      ],
    }
  },
})

export const readPdfFileTool = defineBaseTool({
  name: "readPdfFile",
  description: `Read a PDF file in the workspace (at most ${MAX_PDF_BYTES / MiB} MiB). The document itself is returned, after a text item {path, mimeType, size}.`,
  inputSchema: z.object({ path: z.string().describe("PDF path, relative to the workspace.") }),
  async run(args, { workspace }) {
    const target = await resolveWorkspacePath(workspace, args.path)
    if (path.extname(target.absolute).toLowerCase() !== ".pdf") {
      throw new PerstackError(
        "file.unsupportedType",
        `"${args.path}" is not a PDF: its name must end in .pdf.`,
      )
    }
    const data = await readLimited(target, MAX_PDF_BYTES)
    if (data.subarray(0, 5).toString("latin1") !== "%PDF-") {
      throw new PerstackError(
        "file.unsupportedType",
        `"${args.path}" does not start like a PDF file (%PDF-).`,
      )
    }
    const mimeType = "application/pdf"
    return {
      content: [
        { type: "text", text: JSON.stringify({ path: target.relative, mimeType, size: data.length }) },
        {
          type: "resource",
          resource: { uri: pathToFileURL(target.absolute).href, mimeType, blob: data.toString("base64") },
        },
      ],
    }
  },
})

async function readLimited(target: WorkspacePath, maxBytes: number): Promise<Buffer> {
  const size = await requireFile(target)
  if (size > maxBytes) {
    throw new PerstackError(
      "file.tooLarge",
      `"${target.given}" is ${(size / MiB).toFixed(1)} MiB, over the ${maxBytes / MiB} MiB limit.`,
    )
  }
  return readFileNoFollow(target.absolute)
}
