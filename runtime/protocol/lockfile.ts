// `perstack.lock`: what `perstack install` found for every MCP skill (tool schemas, exact npx package versions),
// tied to the perstack.toml it was made from by a hash. JSON, not TOML: tool schemas are JSON Schema, which can hold
// `null` (TOML has none), `$ref`-style keys and mixed arrays; a lockfile is written by a program, not by hand.
import { z } from "zod"
import { protocolVersionSchema } from "./version.ts"

export const LOCKFILE_NAME = "perstack.lock"

/** One tool as its server listed it (pick/omit are applied at run time, so the lock holds them all). */
export const lockedToolSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  /** the tool's JSON Schema, as the server gave it */
  inputSchema: z.record(z.string(), z.unknown()),
})
export type LockedTool = z.infer<typeof lockedToolSchema>

/** What a run needs to offer a skill's tools without starting its server, and to start the locked version. */
export const skillLockSchema = z.strictObject({
  /** for an `npx` stdio skill: the exact package the run starts, e.g. `exa-mcp-server@1.2.3` */
  package: z
    .string()
    .regex(/^(@[^/@\s]+\/)?[^/@\s]+@[^@\s]+$/, 'an exact package such as "exa-mcp-server@1.2.3"')
    .optional(),
  /** the server's own name and version from its MCP handshake at install, for people reading the lock */
  serverInfo: z.strictObject({ name: z.string(), version: z.string() }).optional(),
  tools: z.array(lockedToolSchema),
})
export type SkillLock = z.infer<typeof skillLockSchema>

/** Per skill name: the `RunSpec.skillLocks` of one Expert. */
export const skillLocksSchema = z.record(z.string().min(1), skillLockSchema)
export type SkillLocks = z.infer<typeof skillLocksSchema>

export const lockfileSchema = z.strictObject({
  protocolVersion: protocolVersionSchema,
  /** the perstack.toml it was made from (its name; the lock sits next to it) */
  configFile: z.string().min(1),
  /** `sha256:<hex>` of that file's text (line endings normalised): any edit makes the lock stale */
  configHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a hash such as "sha256:<64 hex digits>"'),
  /** the perstack version that wrote it */
  generatedBy: z.string().min(1),
  /** per Expert key: its MCP skills (Experts without MCP skills are left out) */
  experts: z.record(z.string().min(1), z.strictObject({ skills: skillLocksSchema })),
})
export type Lockfile = z.infer<typeof lockfileSchema>
