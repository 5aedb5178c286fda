// Builds tool results: one text item holding JSON, and `isError` results of the form {"error": code, "message": ...}.
import { PerstackError } from "../../errors/perstack-error.ts"
import type { BaseToolResult } from "./base-tool.ts"

export function jsonResult(value: unknown): BaseToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }] }
}

/** Names the error by its stable code when it has one (PerstackError, Node's `ENOENT`…), else by its class name. */
export function errorResult(error: unknown): BaseToolResult {
  const { code, message } = describeError(error)
  return { content: [{ type: "text", text: JSON.stringify({ error: code, message }) }], isError: true }
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof PerstackError) return { code: error.code, message: error.message }
  if (error instanceof Error) {
    const errno = (error as NodeJS.ErrnoException).code
    return { code: typeof errno === "string" ? errno : error.name, message: error.message }
  }
  return { code: "Error", message: String(error) }
}
