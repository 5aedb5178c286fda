// Remote skill endpoints: public https only, unless a skill opts in for a local development server.
import { describe, expect, it } from "vitest"
import { privateHostReason, skillSchema } from "./skill.ts"

const problems = (endpoint: string, allowPrivateEndpoint?: boolean) => {
  const result = skillSchema.safeParse({
    type: "mcpHttpSkill",
    endpoint,
    ...(allowPrivateEndpoint !== undefined ? { allowPrivateEndpoint } : {}),
  })
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)
}

describe("remote skill endpoints", () => {
  it("accepts a public https endpoint", () => {
    expect(problems("https://mcp.example.com/mcp")).toEqual([])
    expect(problems("https://93.184.216.34/mcp")).toEqual([])
    expect(problems("https://[2606:4700::1111]/mcp")).toEqual([])
  })

  it.each([
    ["https://localhost:8080/mcp", "a loopback name"],
    ["https://api.localhost/mcp", "a loopback name"],
    ["https://127.0.0.1/mcp", "a loopback address"],
    ["https://2130706433/mcp", "a loopback address"], // 127.0.0.1 written as one number
    ["https://10.1.2.3/mcp", "a private address"],
    ["https://172.31.0.1/mcp", "a private address"],
    ["https://192.168.1.1/mcp", "a private address"],
    ["https://169.254.169.254/latest", "a link-local address (cloud metadata lives there)"],
    ["https://100.64.0.1/mcp", "a shared (carrier-grade NAT) address"],
    ["https://0.0.0.0/mcp", "an unspecified (this-network) address"],
    ["https://metadata.google.internal/mcp", "a local-network name"],
    ["https://intranet/mcp", "a single-label (intranet) name"],
    // IPv6: the original compared the bracketed hostname, so none of these was refused there.
    ["https://[::1]/mcp", "a loopback address"],
    ["https://[::]/mcp", "an unspecified address"],
    ["https://[fc00::1]/mcp", "a unique local (private) address"],
    ["https://[fd12:3456::1]/mcp", "a unique local (private) address"],
    ["https://[fe80::1]/mcp", "a link-local address"],
    ["https://[::ffff:127.0.0.1]/mcp", "a loopback address"],
    ["https://[::ffff:10.0.0.1]/mcp", "a private address"],
    ["https://[::ffff:a9fe:a9fe]/mcp", "a link-local address (cloud metadata lives there)"],
    ["https://[64:ff9b::a00:1]/mcp", "a private address"],
    ["https://[2002:c0a8:101::1]/mcp", "a private address"],
    ["https://[::ffff:0:7f00:1]/mcp", "a loopback address"],
    ["https://[64:ff9b:1::808:808]/mcp", "a local-use NAT64 address"],
  ])("refuses %s: %s", (endpoint, reason) => {
    const [problem] = problems(endpoint)
    expect(problem).toContain(`is ${reason}; a remote skill must be a public https endpoint`)
    expect(problem).toMatch(/^endpoint: /)
    expect(problems(endpoint, true)).toEqual([])
  })

  it("wants https; plain http only for a private host with the opt-in", () => {
    expect(problems("http://mcp.example.com/mcp")).toEqual([
      "endpoint: endpoint must be an https:// URL (plain http:// only for a loopback or private host with allowPrivateEndpoint = true), got http://",
    ])
    expect(problems("http://mcp.example.com/mcp", true)).toHaveLength(1)
    expect(problems("http://127.0.0.1:3000/mcp", true)).toEqual([])
    expect(problems("ftp://mcp.example.com/mcp")).toHaveLength(1)
  })

  it("refuses credentials in the URL: a RunSpec never holds secrets", () => {
    expect(problems("https://user:secret@mcp.example.com/mcp")).toEqual([
      "endpoint: endpoint must not carry credentials (user:password@): a RunSpec never holds secrets",
    ])
  })

  it("applies to the legacy SSE transport too", () => {
    const result = skillSchema.safeParse({ type: "mcpSseSkill", endpoint: "https://[::1]/sse" })
    expect(result.success).toBe(false)
  })

  it("classifies hosts as the URL parser spells them", () => {
    expect(privateHostReason("[::FFFF:7F00:1]")).toBe("a loopback address")
    expect(privateHostReason("LOCALHOST.")).toBe("a loopback name")
    expect(privateHostReason("example.com")).toBeUndefined()
    expect(privateHostReason("8.8.8.8")).toBeUndefined()
  })
})
