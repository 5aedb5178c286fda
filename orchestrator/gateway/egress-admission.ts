// Who may tunnel where: a CONNECT is admitted when its token is a live run's, its port is allowed, its host is one
// of that run's allowed domains by name, and every address the name resolves to is on the public internet.

import type { IncomingMessage } from "node:http"
import net from "node:net"
import { privateHostReason } from "../../runtime/protocol/config/skill.ts"
import { domainAllowed, normalHost } from "./domain-allowlist.ts"

export type EgressLookup = (hostname: string) => Promise<readonly { address: string }[]>

export interface EgressGrant {
  runId: string
  domains: readonly string[]
}

export interface EgressPolicy {
  grants: ReadonlyMap<string, EgressGrant>
  /** the ports a tunnel may go to */
  ports: ReadonlySet<number>
  lookup: EgressLookup
  allowLoopbackForTests: boolean | undefined
}

export interface AdmittedTarget {
  addresses: string[]
  port: number
  host: string
}

/** What a refused request is answered with: the status and a reason a person (or the agent) can act on. */
export class Refusal {
  readonly status: number
  readonly reason: string
  constructor(status: number, reason: string) {
    this.status = status
    this.reason = reason
  }
}

/** The token in `Proxy-Authorization: Basic base64(user:token)` (the password; the user name is free). */
function proxyToken(header: string | undefined): string | undefined {
  if (!header?.startsWith("Basic ")) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  const token = colon === -1 ? decoded : decoded.slice(colon + 1)
  return token === "" ? undefined : token
}

/** host and port of a CONNECT's authority ("example.com:443", "[2001:db8::1]:443"), or undefined. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/@\s]+)):(\d{1,5})$/.exec(authority)
  if (!match) return undefined
  const port = Number(match[3])
  if (port < 1 || port > 65_535) return undefined
  return { host: match[1] ?? match[2] ?? "", port }
}

/** Why a resolved address may not be connected to, or undefined when it is a public internet address. */
export function refusedAddressReason(address: string, allowLoopback = false): string | undefined {
  const reason = privateHostReason(address.includes(":") ? `[${address}]` : address)
  if (reason === "a loopback address" && allowLoopback) return undefined
  return reason
}

/** The checks, in the order a user would fix them: who asks, where to, and what the name resolves to. */
export async function admitTunnel(request: IncomingMessage, policy: EgressPolicy): Promise<AdmittedTarget> {
  const { grants, ports, lookup } = policy
  const token = proxyToken(request.headers["proxy-authorization"])
  const grant = token === undefined ? undefined : grants.get(token)
  if (!grant) {
    throw new Refusal(407, "perstack egress proxy: missing or unknown token, or its run has ended")
  }
  const target = parseAuthority(request.url ?? "")
  if (!target)
    throw new Refusal(400, `perstack egress proxy: "${request.url}" is not a host:port to tunnel to`)
  const host = normalHost(target.host)
  if (!ports.has(target.port)) {
    throw new Refusal(
      403,
      `perstack egress proxy: port ${target.port} of ${host} is refused: only ${[...ports].join(", ")} (HTTPS)`,
    )
  }
  if (net.isIP(host) !== 0) {
    throw new Refusal(
      403,
      `perstack egress proxy: ${host} is an address, not one of this run's allowed domains (${grant.domains.join(", ")}); ask by name`,
    )
  }
  if (!domainAllowed(grant.domains, host)) {
    throw new Refusal(
      403,
      `perstack egress proxy: ${host} is not one of this run's allowed domains (${grant.domains.join(", ")}); add it to a skill's allowedDomains in perstack.toml`,
    )
  }
  let resolved: readonly { address: string }[]
  try {
    resolved = await lookup(host)
  } catch (error) {
    throw new Refusal(
      502,
      `perstack egress proxy: cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  if (resolved.length === 0) throw new Refusal(502, `perstack egress proxy: ${host} resolves to nothing`)
  // One bad address refuses the name: a public name that also points inward is a trick, not a mistake.
  for (const { address } of resolved) {
    const reason = refusedAddressReason(address, policy.allowLoopbackForTests)
    if (reason) {
      throw new Refusal(
        403,
        `perstack egress proxy: ${host} resolves to ${address}, ${reason}, which no sandbox may reach`,
      )
    }
  }
  return { addresses: resolved.map(({ address }) => address), port: target.port, host }
}
