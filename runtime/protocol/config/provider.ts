// The `[provider]` table: which LLM provider and its non-secret settings. Keys only ever come from the environment.
import { z } from "zod"
import { PROVIDER_NAMES } from "./names.ts"

export { PROVIDER_NAMES }
export const providerNameSchema = z.enum(PROVIDER_NAMES)
export type ProviderName = z.infer<typeof providerNameSchema>

const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/

/** https, or plain http to a loopback host (a local gateway or test server). */
export const baseUrlSchema = z.url().refine(
  (value) => {
    const url = new URL(value)
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname))
  },
  { message: "baseUrl must be an https:// URL (plain http:// is allowed only for localhost)" },
)
/** Ollama runs on the user's own network, usually over plain http. */
const anyHttpUrlSchema = z
  .url()
  .refine(
    (value) => ["http:", "https:"].includes(new URL(value).protocol),
    "baseUrl must be an http(s):// URL",
  )

const headers = z.record(z.string(), z.string())
const common = { baseUrl: baseUrlSchema.optional(), headers: headers.optional() }

const providerTable = <N extends ProviderName, S extends z.ZodRawShape>(name: N, setting: S) =>
  z.strictObject({ providerName: z.literal(name), setting: z.strictObject(setting).optional() })

export const providerConfigSchema = z.discriminatedUnion("providerName", [
  providerTable("anthropic", common),
  providerTable("google", common),
  providerTable("openai", {
    ...common,
    organization: z.string().optional(),
    project: z.string().optional(),
    name: z.string().optional(),
  }),
  providerTable("ollama", { baseUrl: anyHttpUrlSchema.optional(), headers: headers.optional() }),
  providerTable("azure-openai", {
    ...common,
    resourceName: z.string().optional(),
    apiVersion: z.string().optional(),
    useDeploymentBasedUrls: z.boolean().optional(),
  }),
  providerTable("amazon-bedrock", { region: z.string().optional() }),
  providerTable("google-vertex", {
    ...common,
    project: z.string().optional(),
    location: z.string().optional(),
  }),
  providerTable("deepseek", common),
  providerTable("fireworks", common),
  providerTable("openrouter", common),
  providerTable("groq", common),
  providerTable("together", common),
  providerTable("mistral", common),
  providerTable("openai-compatible", {
    ...common,
    /** the environment variable that holds the key (default OPENAI_COMPATIBLE_API_KEY) */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "apiKeyEnv is the name of an environment variable")
      .optional(),
  }),
])
export type ProviderConfig = z.infer<typeof providerConfigSchema>

export const reasoningBudgetSchema = z.union([
  z.enum(["none", "minimal", "low", "medium", "high"]),
  z.number().int().nonnegative(),
])
export type ReasoningBudget = z.infer<typeof reasoningBudgetSchema>
