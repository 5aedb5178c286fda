// Skill tables `[experts."x".skills."name"]`: MCP servers (stdio, SSE, Streamable HTTP) and interactive tools.
import { z } from "zod"

const toolNames = z.array(z.string().min(1))
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/
export const envNameSchema = z.string().regex(ENV_NAME_PATTERN, "an environment variable name")
const envName = envNameSchema

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
  /**
   * For a local development server only: lets `endpoint` be a loopback, private or link-local address (and, for
   * such an address, plain http). Off by default: a remote skill must be a public https endpoint.
   */
  allowPrivateEndpoint: z.boolean().default(false),
  requiredEnv: z.array(envName).default([]),
  allowedDomains: z.array(allowedDomainSchema).optional(),
}

/**
 * Why an endpoint may not be used, or undefined. A string check (no DNS): the runtime resolves the name again
 * before it connects. Reported by `perstack validate` with the key path and line.
 */
function endpointProblem(endpoint: string, allowPrivateEndpoint: boolean): string | undefined {
  const url = URL.parse(endpoint)
  if (!url) return undefined // z.url() reports it
  if (url.username !== "" || url.password !== "") {
    return "endpoint must not carry credentials (user:password@): a RunSpec never holds secrets"
  }
  const reason = privateHostReason(url.hostname)
  if (reason && !allowPrivateEndpoint) {
    return `endpoint host ${url.hostname} is ${reason}; a remote skill must be a public https endpoint (for a local development server, set allowPrivateEndpoint = true)`
  }
  if (url.protocol === "https:") return undefined
  if (url.protocol === "http:" && reason) return undefined
  return `endpoint must be an https:// URL (plain http:// only for a loopback or private host with allowPrivateEndpoint = true), got ${url.protocol}//`
}

const checkEndpoint = (
  skill: { endpoint: string; allowPrivateEndpoint: boolean },
  ctx: z.RefinementCtx<unknown>,
) => {
  const problem = endpointProblem(skill.endpoint, skill.allowPrivateEndpoint)
  if (problem) ctx.addIssue({ code: "custom", path: ["endpoint"], message: problem })
}

/** The legacy HTTP+SSE transport. */
export const mcpSseSkillSchema = z
  .strictObject({ type: z.literal("mcpSseSkill"), ...remote })
  .superRefine(checkEndpoint)
/** The current Streamable HTTP transport. */
export const mcpHttpSkillSchema = z
  .strictObject({ type: z.literal("mcpHttpSkill"), ...remote })
  .superRefine(checkEndpoint)

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

const IPV4_RANGES: readonly (readonly [string, number, string])[] = [
  ["0.0.0.0", 8, "an unspecified (this-network) address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (carrier-grade NAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address (cloud metadata lives there)"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
]

function ipv4Number(text: string): number | undefined {
  const parts = text.split(".")
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255))
    return undefined
  return parts.reduce((value, part) => value * 256 + Number(part), 0)
}

function ipv4Reason(address: number): string | undefined {
  for (const [base, bits, reason] of IPV4_RANGES) {
    const size = 2 ** (32 - bits)
    const start = ipv4Number(base) ?? 0
    if (address >= start && address < start + size) return reason
  }
  return undefined
}

/** The eight 16-bit groups of an IPv6 address (the URL parser has already normalised it), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  let body = text
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const value = ipv4Number(v4[2] ?? "")
    if (value === undefined) return undefined
    body = `${v4[1]}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`
  }
  const halves = body.split("::")
  if (halves.length > 2) return undefined
  const parse = (half: string) =>
    half === "" ? [] : half.split(":").map((group) => Number.parseInt(group, 16))
  const head = parse(halves[0] ?? "")
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : []
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0
  const groups = [...head, ...Array<number>(Math.max(fill, 0)).fill(0), ...tail]
  if (groups.length !== 8 || groups.some((group) => !(group >= 0 && group <= 0xffff))) return undefined
  return groups
}

function ipv6Reason(groups: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups
  const embedded = (high: number, low: number) => ipv4Reason(high * 65536 + low)
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (zeroPrefix && g5 === 0 && g6 === 0 && g7 <= 1) {
    return g7 === 1 ? "a loopback address" : "an unspecified address"
  }
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible) reach the IPv4 address they embed.
  if (zeroPrefix && (g5 === 0xffff || g5 === 0)) return embedded(g6, g7)
  // ::ffff:0:a.b.c.d (IPv4-translated, SIIT) does as well.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return embedded(g6, g7)
  // 64:ff9b::a.b.c.d (NAT64) and 2002:aabb:ccdd:: (6to4) too.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedded(g6, g7)
  // 64:ff9b:1::/48 is NAT64 for a local network's own use: whatever it embeds, it is not the internet.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return "a local-use NAT64 address"
  if (g0 === 0x2002) return embedded(g1, g2)
  if ((g0 & 0xfe00) === 0xfc00) return "a unique local (private) address"
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address"
  if ((g0 & 0xffc0) === 0xfec0) return "a site-local (private) address"
  if ((g0 & 0xff00) === 0xff00) return "a multicast address"
  return undefined
}

/**
 * Why a URL host is not a public internet host, or undefined when it is one. Takes `URL.hostname`, which keeps
 * an IPv6 address's brackets (the original compared it bracketed, so no IPv6 address was ever refused).
 */
export function privateHostReason(hostname: string): string | undefined {
  const host = hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "")
  if (host.includes(":")) {
    const groups = ipv6Groups(host)
    return groups ? ipv6Reason(groups) : "not a valid IPv6 address"
  }
  const v4 = ipv4Number(host)
  if (v4 !== undefined) return ipv4Reason(v4)
  if (host === "localhost" || host.endsWith(".localhost")) return "a loopback name"
  if (host.endsWith(".local") || host.endsWith(".internal") || host.endsWith(".home.arpa")) {
    return "a local-network name"
  }
  if (!host.includes(".")) return "a single-label (intranet) name"
  return undefined
}
