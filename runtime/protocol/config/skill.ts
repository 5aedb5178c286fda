// Skill tables `[experts."x".skills."name"]`: MCP servers (stdio, SSE, Streamable HTTP) and interactive tools.
import { z } from "zod"

const toolNames = z.array(z.string().min(1))
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")

/** `example.com` or `*.example.com`; punycode labels are refused (homograph tricks). */
export const allowedDomainSchema = z
  .string()
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
    'a domain such as "example.com" or "*.example.com"',
  )
  .refine((domain) => !domain.split(".").some((label) => label.toLowerCase().startsWith("xn--")), {
    message: "punycode (xn--) domains are not allowed",
  })

const common = {
  description: z.string().optional(),
  /** text added to the system prompt under this skill's heading */
  rule: z.string().optional(),
  pick: toolNames.default([]),
  omit: toolNames.default([]),
  lazyInit: z.boolean().default(false),
}

export const mcpStdioSkillSchema = z
  .strictObject({
    type: z.literal("mcpStdioSkill"),
    ...common,
    command: z.string().min(1),
    packageName: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    requiredEnv: z.array(envName).default([]),
    allowedDomains: z.array(allowedDomainSchema).optional(),
  })
  .superRefine((skill, ctx) => {
    if (skill.packageName !== undefined && skill.args.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["packageName"],
        message: "set either packageName or args, not both",
      })
    }
    if (
      ["npx", "uvx"].includes(skill.command) &&
      skill.packageName === undefined &&
      skill.args.length === 0
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["packageName"],
        message: `"${skill.command}" needs the package to run: set packageName or args`,
      })
    }
  })

const remote = {
  ...common,
  endpoint: z.url({ message: "endpoint must be a URL" }),
  requiredEnv: z.array(envName).default([]),
  allowedDomains: z.array(allowedDomainSchema).optional(),
}
/** The legacy HTTP+SSE transport. */
export const mcpSseSkillSchema = z.strictObject({ type: z.literal("mcpSseSkill"), ...remote })
/** The current Streamable HTTP transport. */
export const mcpHttpSkillSchema = z.strictObject({ type: z.literal("mcpHttpSkill"), ...remote })

const jsonObjectString = z.string().superRefine((text, ctx) => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `inputJsonSchema is not valid JSON: ${(error as Error).message}`,
    })
    return
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    ctx.addIssue({ code: "custom", message: "inputJsonSchema must be a JSON object (a JSON Schema)" })
  }
})

export const interactiveToolSchema = z.strictObject({
  description: z.string().optional(),
  /** a JSON Schema, written as a JSON string as in the original */
  inputJsonSchema: jsonObjectString,
})

export const interactiveSkillSchema = z.strictObject({
  type: z.literal("interactiveSkill"),
  description: z.string().optional(),
  rule: z.string().optional(),
  tools: z.record(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a tool name of letters, digits, - and _"),
    interactiveToolSchema,
  ),
})

export const skillSchema = z.discriminatedUnion("type", [
  mcpStdioSkillSchema,
  mcpSseSkillSchema,
  mcpHttpSkillSchema,
  interactiveSkillSchema,
])
export type Skill = z.infer<typeof skillSchema>
export type McpStdioSkill = z.infer<typeof mcpStdioSkillSchema>
export type McpRemoteSkill = z.infer<typeof mcpSseSkillSchema> | z.infer<typeof mcpHttpSkillSchema>
export type InteractiveSkill = z.infer<typeof interactiveSkillSchema>

/** The built-in skill; always available, in-process. Declaring it only narrows it with pick/omit. */
export const BASE_SKILL_NAME = "@perstack/base"
