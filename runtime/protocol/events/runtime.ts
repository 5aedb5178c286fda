// The 8 runtime events of the original (skill lifecycle, and its docker adapter's progress events), and ours:
// heartbeat, printed every PERSTACK_HEARTBEAT_MS so the orchestrator can tell a silent sandbox from a busy one.
import { z } from "zod"
import { runtimeEventBase } from "./base.ts"

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...runtimeEventBase, type: z.literal(type), ...shape })

const ms = z.number().nonnegative().optional()

export const initializeRuntimeEventSchema = event("initializeRuntime", {
  runtimeVersion: z.string(),
  runtime: z.string().optional(),
  expertName: z.string(),
  experts: z.array(z.string()),
  model: z.string(),
  maxSteps: z.number().int().optional(),
  maxRetries: z.number().int(),
  timeout: z.number().int(),
  query: z.string().optional(),
  interactiveToolCall: z
    .strictObject({ toolName: z.string(), toolCallId: z.string(), text: z.string() })
    .optional(),
})

export const runtimeEventSchemas = [
  initializeRuntimeEventSchema,
  event("skillStarting", { skillName: z.string(), command: z.string(), args: z.array(z.string()) }),
  event("skillConnected", {
    skillName: z.string(),
    serverInfo: z.strictObject({ name: z.string(), version: z.string() }).optional(),
    connectDurationMs: ms,
    totalDurationMs: ms,
    spawnDurationMs: ms,
    handshakeDurationMs: ms,
    toolDiscoveryDurationMs: ms,
  }),
  event("skillStderr", { skillName: z.string(), message: z.string() }),
  event("skillDisconnected", { skillName: z.string() }),
  event("dockerBuildProgress", {
    stage: z.enum(["pulling", "building", "complete", "error"]),
    service: z.string(),
    message: z.string(),
    progress: z.number().optional(),
  }),
  event("dockerContainerStatus", {
    status: z.enum(["starting", "running", "healthy", "unhealthy", "stopped", "error"]),
    service: z.string(),
    message: z.string().optional(),
  }),
  event("heartbeat", {}),
  event("proxyAccess", {
    action: z.enum(["allowed", "blocked"]),
    domain: z.string(),
    port: z.number().int(),
    reason: z.string().optional(),
  }),
] as const
