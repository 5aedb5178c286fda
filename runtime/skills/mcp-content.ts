// Converts MCP tool-result content into our tool-result parts.
import type { IdGenerator } from "../ids.ts"
import type { ToolResultContent } from "../protocol/message.ts"

export type McpContent =
  | { type: "text"; text: string }
  | { type: "image"; data: string; mimeType: string }
  | { type: "audio"; data: string; mimeType: string }
  | { type: "resource"; resource: { uri: string; mimeType?: string; text?: string; blob?: string } }
  | { type: "resource_link"; uri: string; name?: string }
  | { type: string; [key: string]: unknown }

export function fromMcpContent(content: readonly McpContent[], ids: IdGenerator): ToolResultContent[] {
  return content.map((item): ToolResultContent => {
    const text = (value: string): ToolResultContent => ({ type: "textPart", id: ids(), text: value })
    switch (item.type) {
      case "text":
        return text(String(item.text))
      case "image":
        return {
          type: "imageInlinePart",
          id: ids(),
          encodedData: String(item.data),
          mimeType: String(item.mimeType),
        }
      case "resource": {
        const resource = item.resource as { uri: string; mimeType?: string; text?: string; blob?: string }
        if (resource.blob !== undefined) {
          return {
            type: "fileInlinePart",
            id: ids(),
            encodedData: resource.blob,
            mimeType: resource.mimeType ?? "application/octet-stream",
          }
        }
        return text(resource.text ?? `(resource ${resource.uri})`)
      }
      case "resource_link":
        return text(`(resource ${String(item.uri)})`)
      default:
        return text(`(${item.type} content is not supported)`)
    }
  })
}
