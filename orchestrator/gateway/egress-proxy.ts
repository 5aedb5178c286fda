// The allowlisting egress proxy: a locked-down sandbox whose Expert's skills declare `allowedDomains` reaches
// those domains, and only those, through it. HTTPS CONNECT tunnels only (the proxy never sees the TLS inside); the
// proxy resolves each name itself and refuses any that resolves to a private, loopback, link-local or metadata
// address, so an allowed name cannot be pointed at the orchestrator's own network. Each run proves itself with a
// token of its own (Proxy-Authorization), which carries that run's allowlist and dies with the run.
import { randomBytes } from "node:crypto"
import { lookup as dnsLookup } from "node:dns/promises"
import http, { type IncomingMessage, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import {
  type AdmittedTarget,
  admitTunnel,
  type EgressGrant,
  type EgressLookup,
  type EgressPolicy,
  Refusal,
} from "./egress-admission.ts"
import { connectTo, joinTunnel, writeRefusal } from "./egress-tunnel.ts"
import { listenForSandboxes } from "./listen.ts"

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

const systemLookup: EgressLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

export async function startEgressProxy(options: EgressProxyOptions = {}): Promise<EgressProxy> {
  const grants = new Map<string, EgressGrant>()
  const policy: EgressPolicy = {
    grants,
    ports: new Set(options.ports ?? [443]),
    lookup: options.lookup ?? systemLookup,
    allowLoopbackForTests: options.allowLoopbackForTests,
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const sockets = new Set<Duplex>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  }

  const server = http.createServer(refusePlainHttp)
  server.on("connect", (request: IncomingMessage, client: Duplex, head: Buffer) => {
    track(client)
    client.on("error", () => client.destroy())
    void tunnel(request, client, head, { policy, connectTimeoutMs, track })
  })
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

/** One CONNECT: admitted, connected to a checked address, and joined; or refused with the reason. */
async function tunnel(
  request: IncomingMessage,
  client: Duplex,
  head: Buffer,
  {
    policy,
    connectTimeoutMs,
    track,
  }: { policy: EgressPolicy; connectTimeoutMs: number; track: (socket: Duplex) => void },
): Promise<void> {
  let target: AdmittedTarget
  try {
    target = await admitTunnel(request, policy)
  } catch (error) {
    if (error instanceof Refusal) writeRefusal(client, error)
    else client.destroy()
    return
  }
  let upstream: Socket
  try {
    upstream = await connectTo(target.addresses, target.port, connectTimeoutMs)
  } catch (error) {
    const reason = `perstack egress proxy: cannot connect to ${target.host}:${target.port}: ${(error as Error).message}`
    writeRefusal(client, new Refusal(502, reason))
    return
  }
  if (client.destroyed) {
    upstream.destroy()
    return
  }
  track(upstream)
  joinTunnel(client, upstream, head)
}

/** Plain-HTTP proxying (and anything else): refused. An allowed domain is reached over HTTPS. */
function refusePlainHttp(request: IncomingMessage, response: ServerResponse): void {
  request.resume()
  const body = `perstack egress proxy: only HTTPS tunnels (CONNECT host:443) to this run's allowed domains go through; plain http:// (${request.method} ${request.url}) is refused: use https://\n`
  response.writeHead(403, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  })
  response.end(body)
}
