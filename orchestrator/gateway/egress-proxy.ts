// The allowlisting egress proxy: a locked-down sandbox whose Expert's skills declare `allowedDomains` reaches
// those domains, and only those, through it. HTTPS CONNECT tunnels only (the proxy never sees the TLS inside); the
// proxy resolves each name itself and refuses any that resolves to a private, loopback, link-local or metadata
// address, so an allowed name cannot be pointed at the orchestrator's own network. Each run proves itself with a
// token of its own (Proxy-Authorization), which carries that run's allowlist and dies with the run.
import { randomBytes } from "node:crypto"
import { lookup as dnsLookup } from "node:dns/promises"
import http, { type IncomingMessage, type ServerResponse } from "node:http"
import net, { type Socket } from "node:net"
import type { Duplex } from "node:stream"
import { privateHostReason } from "../../runtime/protocol/config/skill.ts"
import { domainAllowed, normalHost } from "./domain-allowlist.ts"
import { listenForSandboxes } from "./listen.ts"

export type EgressLookup = (hostname: string) => Promise<readonly { address: string }[]>

export interface EgressProxyOptions {
  /** default 127.0.0.1; the docker bridge's address for containers (as the LLM gateway) */
  host?: string
  /** default 0: any free port */
  port?: number
  /** the ports a tunnel may go to (default 443 only: HTTPS) */
  ports?: readonly number[]
  /** how names are resolved (default: the system's resolver, every address) */
  lookup?: EgressLookup
  /**
   * Tests only: lets a tunnel reach loopback addresses, so that a local server can stand in for the internet. Every
   * other private range stays refused.
   */
  allowLoopbackForTests?: boolean
  /** how long one connection attempt to a target may take (default 10 s) */
  connectTimeoutMs?: number
}

export interface EgressProxy {
  /** http://host:port, without credentials */
  readonly url: string
  /** a token for this run, letting it reach `domains` (see domainAllowed) until revoked */
  issueToken(runId: string, domains: readonly string[]): string
  revokeToken(token: string): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** What a refused request is answered with: the status and a reason a person (or the agent) can act on. */
class Refusal {
  readonly status: number
  readonly reason: string
  constructor(status: number, reason: string) {
    this.status = status
    this.reason = reason
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  502: "Bad Gateway",
}

const systemLookup: EgressLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

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

function writeRefusal(socket: Duplex, refusal: Refusal): void {
  const body = `${refusal.reason}\n`
  const headers = [
    `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status] ?? "Error"}`,
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...(refusal.status === 407 ? ['Proxy-Authenticate: Basic realm="perstack egress"'] : []),
  ]
  socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`)
}

export async function startEgressProxy(options: EgressProxyOptions = {}): Promise<EgressProxy> {
  const ports = new Set(options.ports ?? [443])
  const lookup = options.lookup ?? systemLookup
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const grants = new Map<string, { runId: string; domains: readonly string[] }>()
  const sockets = new Set<Duplex>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  }

  /** The checks, in the order a user would fix them: who asks, where to, and what the name resolves to. */
  async function admit(
    request: IncomingMessage,
  ): Promise<{ addresses: string[]; port: number; host: string }> {
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
      const reason = refusedAddressReason(address, options.allowLoopbackForTests)
      if (reason) {
        throw new Refusal(
          403,
          `perstack egress proxy: ${host} resolves to ${address}, ${reason}, which no sandbox may reach`,
        )
      }
    }
    return { addresses: resolved.map(({ address }) => address), port: target.port, host }
  }

  /** Connects to the checked addresses in turn (never to the name: it could resolve elsewhere a second time). */
  async function connectTo(addresses: readonly string[], port: number): Promise<Socket> {
    let lastError: Error | undefined
    for (const address of addresses) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const upstream = net.connect({ host: address, port, timeout: connectTimeoutMs })
          upstream.once("connect", () => {
            upstream.setTimeout(0)
            upstream.off("error", reject)
            resolve(upstream)
          })
          upstream.once("timeout", () =>
            upstream.destroy(new Error(`timed out after ${connectTimeoutMs} ms`)),
          )
          upstream.once("error", reject)
        })
      } catch (error) {
        lastError = error as Error
      }
    }
    throw lastError ?? new Error("no address")
  }

  function onConnect(request: IncomingMessage, client: Duplex, head: Buffer): void {
    track(client)
    client.on("error", () => client.destroy())
    void (async () => {
      let target: { addresses: string[]; port: number; host: string }
      try {
        target = await admit(request)
      } catch (error) {
        if (error instanceof Refusal) writeRefusal(client, error)
        else client.destroy()
        return
      }
      let upstream: Socket
      try {
        upstream = await connectTo(target.addresses, target.port)
      } catch (error) {
        writeRefusal(
          client,
          new Refusal(
            502,
            `perstack egress proxy: cannot connect to ${target.host}:${target.port}: ${(error as Error).message}`,
          ),
        )
        return
      }
      if (client.destroyed) {
        upstream.destroy()
        return
      }
      track(upstream)
      upstream.setNoDelay(true)
      ;(client as Socket).setNoDelay?.(true)
      upstream.on("error", () => client.destroy())
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
      client.write("HTTP/1.1 200 Connection established\r\n\r\n")
      if (head.length > 0) upstream.write(head)
      client.pipe(upstream)
      upstream.pipe(client)
    })()
  }

  /** Plain-HTTP proxying (and anything else): refused. An allowed domain is reached over HTTPS. */
  function onRequest(request: IncomingMessage, response: ServerResponse): void {
    request.resume()
    const body = `perstack egress proxy: only HTTPS tunnels (CONNECT host:443) to this run's allowed domains go through; plain http:// (${request.method} ${request.url}) is refused: use https://\n`
    response.writeHead(403, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    })
    response.end(body)
  }

  const server = http.createServer(onRequest)
  server.on("connect", onConnect)
  server.on("clientError", (_error, socket) => socket.destroy())
  const { host, port } = await listenForSandboxes(server, options.host, options.port)

  const close = async () => {
    grants.clear()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
      for (const socket of sockets) socket.destroy()
    })
  }
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    issueToken(runId, domains) {
      const token = `ppx-${randomBytes(32).toString("base64url")}`
      grants.set(token, { runId, domains: [...domains] })
      return token
    },
    revokeToken(token) {
      grants.delete(token)
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
