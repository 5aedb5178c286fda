// What every base tool is: a name, a model-facing description, a zod input schema and a run function that never throws.
import { realpath } from "node:fs/promises"
import { z } from "zod"
import { PerstackError } from "../../errors/perstack-error.ts"
import type { TodoStore } from "./todo-store.ts"
import { errorResult } from "./tool-result.ts"

/** One item of a tool result, in the MCP `CallToolResult` shape so the server can return it as it is. */
export const baseToolContentSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("image"), data: z.string(), mimeType: z.string() }),
  z.object({
    type: z.literal("resource"),
    resource: z.object({ uri: z.string(), mimeType: z.string(), blob: z.string() }),
  }),
])

export const baseToolResultSchema = z.object({
  content: z.array(baseToolContentSchema),
  isError: z.boolean().optional(),
})
export type BaseToolResult = z.infer<typeof baseToolResultSchema>

/** What a tool may touch. Not data that travels, so a plain type rather than a schema. */
export type BaseToolContext = {
  /** absolute; every path a tool is given must resolve inside it (realpath'd again before each call, to be sure) */
  workspace: string
  /** the run's todo list; the agent loop reads `list()` back into the checkpoint */
  todos: TodoStore
  /** the sandbox's own environment, of which `exec` passes on only a fixed allow-list */
  env: Record<string, string | undefined>
  /** RunSpec.forwardedEnv: the user's `--env` names, passed on by `exec` and to MCP servers besides the list */
  forwardedEnv?: readonly string[]
  /** aborts a running `exec` (its whole process group is killed) */
  signal?: AbortSignal
}

export type BaseTool = {
  name: string
  description: string
  inputSchema: z.ZodObject
  /** validates `args` itself, so it is safe to call without the MCP server; errors become `isError` results */
  run(args: unknown, context: BaseToolContext): Promise<BaseToolResult>
}

type BaseToolSpec<S extends z.ZodObject> = {
  name: string
  description: string
  inputSchema: S
  run(args: z.output<S>, context: BaseToolContext): Promise<BaseToolResult>
}

export function defineBaseTool<S extends z.ZodObject>(spec: BaseToolSpec<S>): BaseTool {
  return {
    name: spec.name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    async run(args, context) {
      const parsed = spec.inputSchema.safeParse(args ?? {})
      if (!parsed.success) {
        const details = z.prettifyError(parsed.error)
        return errorResult(
          new PerstackError("tool.invalidArguments", `Invalid arguments for ${spec.name}:\n${details}`),
        )
      }
      try {
        // Paths are compared after following symlinks, so the workspace must be in that form too.
        const workspace = await realpath(context.workspace)
        return await spec.run(parsed.data, { ...context, workspace })
      } catch (error) {
        return errorResult(error)
      }
    },
  }
}
