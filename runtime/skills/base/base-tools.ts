// The table of the 17 built-in tools every Expert gets, and their definitions for the LLM, without loading the MCP SDK.
import { z } from "zod"
import type { BaseTool } from "./base-tool.ts"
import { deleteFileTool } from "./tools/delete-file.ts"
import { createDirectoryTool, deleteDirectoryTool } from "./tools/directory.ts"
import { editTextFileTool } from "./tools/edit-text-file.ts"
import { execTool } from "./tools/exec.ts"
import { getFileInfoTool } from "./tools/get-file-info.ts"
import { healthCheckTool } from "./tools/health-check.ts"
import { listDirectoryTool } from "./tools/list-directory.ts"
import { moveFileTool } from "./tools/move-file.ts"
import { readImageFileTool, readPdfFileTool } from "./tools/read-media-file.ts"
import { readTextFileTool } from "./tools/read-text-file.ts"
import { attemptCompletionTool, clearTodoTool, todoTool } from "./tools/todo.ts"
import { appendTextFileTool, writeTextFileTool } from "./tools/write-text-file.ts"

export const BASE_TOOLS: readonly BaseTool[] = [
  attemptCompletionTool,
  todoTool,
  clearTodoTool,
  healthCheckTool,
  execTool,
  readTextFileTool,
  readImageFileTool,
  readPdfFileTool,
  writeTextFileTool,
  appendTextFileTool,
  editTextFileTool,
  moveFileTool,
  deleteFileTool,
  getFileInfoTool,
  listDirectoryTool,
  createDirectoryTool,
  deleteDirectoryTool,
]

export type { BaseTool, BaseToolContext } from "./base-tool.ts"

export type BaseToolDefinition = { name: string; description: string; inputSchema: Record<string, unknown> }

/** the tool by name, or undefined */
export function findBaseTool(name: string): BaseTool | undefined {
  return BASE_TOOLS.find((tool) => tool.name === name)
}

/**
 * Name, description and JSON Schema of every base tool, exactly as the MCP server lists them (same converter
 * options: draft-7, input side, so fields with defaults are optional).
 */
export function baseToolDefinitions(): BaseToolDefinition[] {
  return BASE_TOOLS.map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.inputSchema, { target: "draft-7", io: "input" }) as Record<
      string,
      unknown
    >,
  }))
}
