// One `[experts."key"]` table of perstack.toml, plus our `[experts."key".sandbox]` settings.
import { z } from "zod"
import { expertKeySchema, SEMVER_PATTERN } from "./expert-key.ts"
import { skillSchema } from "./skill.ts"

/** `512m`, `2g`, `1.5Gi`, `256Mi`, or a plain number of bytes. */
export const MEMORY_PATTERN = /^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i

export const sandboxSettingsSchema = z.strictObject({
  /** container image for the docker and kubernetes backends */
  image: z.string().min(1).optional(),
  cpus: z.number().positive().optional(),
  memory: z
    .union([z.number().int().positive(), z.string().regex(MEMORY_PATTERN, 'a size such as "512m" or "2Gi"')])
    .optional(),
  /** wall-clock limit of one run segment, in ms */
  timeout: z.number().int().positive().optional(),
  /**
   * "gateway" (the default with the LLM gateway, which docker has on by default): the sandbox reaches the
   * orchestrator's LLM gateway, and through its egress proxy (HTTPS only) its skills' allowedDomains and remote
   * skills' endpoints, nothing else; "open": unrestricted egress (the default without the gateway); "none": no
   * network at all, the LLM included (a container without interfaces): no run works without its LLM, so the docker
   * backend refuses to start one, naming this setting.
   */
  network: z.enum(["gateway", "open", "none"]).optional(),
})
export type SandboxSettings = z.infer<typeof sandboxSettingsSchema>

const providerToolOptionsSchema = z.strictObject({
  webSearch: z
    .strictObject({
      maxUses: z.number().int().positive().optional(),
      allowedDomains: z.array(z.string()).optional(),
    })
    .optional(),
  webFetch: z.strictObject({ maxUses: z.number().int().positive().optional() }).optional(),
  fileSearch: z
    .strictObject({
      vectorStoreIds: z.array(z.string()).optional(),
      maxNumResults: z.number().int().positive().optional(),
    })
    .optional(),
})

const providerSkillSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("builtin"), skillId: z.enum(["pdf", "docx", "pptx", "xlsx"]) }),
  z.strictObject({ type: z.literal("custom"), name: z.string().min(1), definition: z.string().min(1) }),
])

/** Upstream's provider-neutral model choice: each provider maps it to a model (see runtime/llm/model-tiers.ts). */
export const MODEL_TIERS = ["low", "middle", "high"] as const
export const modelTierSchema = z.enum(MODEL_TIERS)
export type ModelTier = z.infer<typeof modelTierSchema>

export const expertConfigSchema = z.strictObject({
  instruction: z.string().min(1, "instruction must not be empty").max(20480),
  description: z.string().min(1).max(2048).optional(),
  version: z.string().regex(SEMVER_PATTERN, 'a semantic version such as "1.0.0"').default("1.0.0"),
  minRuntimeVersion: z.string().optional(),
  /** this Expert's model, by tier, for the job's provider; `--model` overrides it, and it overrides the file's `model` */
  defaultModelTier: modelTierSchema.optional(),
  delegates: z.array(expertKeySchema).default([]),
  tags: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "a tag of lowercase letters, digits, - and _"))
    .default([]),
  skills: z.record(z.string().min(1), skillSchema).default({}),
  sandbox: sandboxSettingsSchema.optional(),
  /** accepted so the original's files load; not used (the original drops them too) */
  providerTools: z.array(z.string()).optional(),
  providerSkills: z.array(providerSkillSchema).optional(),
  providerToolOptions: providerToolOptionsSchema.optional(),
})
export type ExpertConfig = z.infer<typeof expertConfigSchema>
