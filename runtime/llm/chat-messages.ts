// Converts our conversation into Chat Completions messages (the wire format every compatible server speaks).
import type {
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from "openai/resources/chat/completions"
import type { Message, ToolResultPart } from "../protocol/message.ts"

const dataUrl = (mimeType: string, base64: string) => `data:${mimeType};base64,${base64}`

function userPart(
  part: Extract<Message, { type: "userMessage" }>["contents"][number],
): ChatCompletionContentPart {
  switch (part.type) {
    case "textPart":
      return { type: "text", text: part.text }
    case "imageUrlPart":
      return { type: "image_url", image_url: { url: part.url } }
    case "imageInlinePart":
      return { type: "image_url", image_url: { url: dataUrl(part.mimeType, part.encodedData) } }
    case "imageBinaryPart":
      return { type: "image_url", image_url: { url: dataUrl(part.mimeType, part.data) } }
    case "fileInlinePart":
      return {
        type: "file",
        file: { file_data: dataUrl(part.mimeType, part.encodedData), filename: "file" },
      }
    case "fileBinaryPart":
      return { type: "file", file: { file_data: dataUrl(part.mimeType, part.data), filename: "file" } }
    case "fileUrlPart":
      return { type: "text", text: `(file at ${part.url}, ${part.mimeType})` }
  }
}

/** Tool messages carry text only; images and files a tool returned follow in a user message. */
function toolResultMessages(parts: readonly ToolResultPart[]): ChatCompletionMessageParam[] {
  const media: ChatCompletionContentPart[] = []
  const messages: ChatCompletionMessageParam[] = parts.map((part) => {
    const texts: string[] = []
    for (const content of part.contents) {
      if (content.type === "textPart") texts.push(content.text)
      else if (content.type === "imageInlinePart") {
        media.push({ type: "image_url", image_url: { url: dataUrl(content.mimeType, content.encodedData) } })
        texts.push(`(image ${content.mimeType} attached below)`)
      } else {
        media.push({
          type: "file",
          file: { file_data: dataUrl(content.mimeType, content.encodedData), filename: "file" },
        })
        texts.push(`(file ${content.mimeType} attached below)`)
      }
    }
    const text = texts.join("\n")
    return { role: "tool", tool_call_id: part.toolCallId, content: part.isError ? `Error: ${text}` : text }
  })
  if (media.length > 0)
    messages.push({
      role: "user",
      content: [{ type: "text", text: "Attachments from the tool results above:" }, ...media],
    })
  return messages
}

export function toChatMessages(messages: readonly Message[]): ChatCompletionMessageParam[] {
  return messages.flatMap(toChatMessage)
}

function toChatMessage(message: Message): ChatCompletionMessageParam[] {
  switch (message.type) {
    case "instructionMessage":
      return [{ role: "system", content: message.contents.map((part) => part.text).join("\n\n") }]
    case "userMessage":
      return [{ role: "user", content: message.contents.map(userPart) }]
    case "expertMessage": {
      const text = message.contents.flatMap((part) => (part.type === "textPart" ? [part.text] : [])).join("")
      const toolCalls = message.contents.flatMap((part): ChatCompletionMessageToolCall[] =>
        part.type === "toolCallPart"
          ? [
              {
                id: part.toolCallId,
                type: "function",
                function: { name: part.toolName, arguments: JSON.stringify(part.args) },
              },
            ]
          : [],
      )
      // Thinking parts are not sent back: OpenAI-compatible servers reject or ignore them.
      return [
        {
          role: "assistant",
          content: text === "" && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
      ]
    }
    case "toolMessage":
      return toolResultMessages(message.contents)
  }
}

/**
 * Arguments that were not a JSON object are kept verbatim under this key. They are replayed as valid JSON
 * (`{"__rawArguments": "..."}`): some servers reject a conversation whose history holds broken JSON.
 */
export const RAW_ARGUMENTS_KEY = "__rawArguments"
