// The egress proxy on loopback: an echo server stands in for the internet (the test-only loopback allowance), and
// the test's own resolver says where each name points.
import http from "node:http"
import net, { type AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type EgressLookup, parseAuthority, refusedAddressReason } from "./egress-admission.ts"
import { startEgressProxy } from "./egress-proxy.ts"

const NAMES: Record<string, string[]> = {
  "api.allowed.test": ["127.0.0.1"],
  "deep.sub.wild.test": ["127.0.0.1"],
  "wild.test": ["127.0.0.1"],
  "other.test": ["127.0.0.1"],
  "inward.allowed.test": ["10.0.0.7"],
  "metadata.allowed.test": ["169.254.169.254"],
  "mapped.allowed.test": ["::ffff:127.0.0.1"],
  "ula.allowed.test": ["fd00::1"],
  "cgnat.allowed.test": ["100.64.0.1"],
  "mixed.allowed.test": ["127.0.0.1", "192.168.1.1"],
}
const lookup: EgressLookup = async (hostname) => {
  const addresses = NAMES[hostname]
  if (!addresses) throw Object.assign(new Error(`no such name ${hostname}`), { code: "ENOTFOUND" })
  return addresses.map((address) => ({ address }))
}

let echo: net.Server
let echoPort = 0
beforeAll(async () => {
  echo = net.createServer((socket) => socket.pipe(socket))
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
  echoPort = (echo.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())))

async function proxy(options: { allowLoopbackForTests?: boolean } = {}) {
  const started = await startEgressProxy({
    lookup,
    ports: [443, echoPort],
    allowLoopbackForTests: options.allowLoopbackForTests ?? true,
  })
  const token = started.issueToken("run-1", ["api.allowed.test", "*.wild.test", "*.allowed.test"])
  return Object.assign(started, { token })
}

/** A raw CONNECT through the proxy: the status line, the body of a refusal, and what an open tunnel echoes. */
async function tunnel(
  proxyUrl: string,
  authority: string,
  token: string | undefined,
): Promise<{ status: number; head: string; body: string; echoed?: string }> {
  const { hostname, port } = new URL(proxyUrl)
  const socket = net.connect(Number(port), hostname)
  const auth =
    token === undefined
      ? ""
      : `Proxy-Authorization: Basic ${Buffer.from(`perstack:${token}`).toString("base64")}\r\n`
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`)
  let received = Buffer.alloc(0)
  let sentPing = false
  return new Promise((resolve, reject) => {
    socket.on("error", reject)
    const finish = () => {
      const text = received.toString("utf8")
      const end = text.indexOf("\r\n\r\n")
      const head = text.slice(0, end)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
      const rest = text.slice(end + 4)
      resolve(status === 200 ? { status, head, body: "", echoed: rest } : { status, head, body: rest })
      socket.destroy()
    }
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const text = received.toString("utf8")
      if (!text.includes("\r\n\r\n")) return
      if (text.startsWith("HTTP/1.1 200")) {
        if (!sentPing) {
          sentPing = true
          socket.write("ping through the tunnel")
        } else if (text.endsWith("ping through the tunnel")) finish()
      }
    })
    socket.on("end", finish)
  })
}

describe("the egress proxy", () => {
  it("tunnels to an allowed domain (exact, and under a wildcard at any depth)", async () => {
    await using p = await proxy()
    const exact = await tunnel(p.url, `api.allowed.test:${echoPort}`, p.token)
    expect(exact).toMatchObject({ status: 200, echoed: "ping through the tunnel" })
    const deep = await tunnel(p.url, `DEEP.sub.wild.test.:${echoPort}`, p.token)
    expect(deep).toMatchObject({ status: 200, echoed: "ping through the tunnel" })
  })

  it("refuses a domain not allowed, naming the allowlist; a wildcard does not cover its own apex", async () => {
    await using p = await proxy()
    const other = await tunnel(p.url, `other.test:${echoPort}`, p.token)
    expect(other.status).toBe(403)
    expect(other.body).toContain(
      "other.test is not one of this run's allowed domains (api.allowed.test, *.wild.test, *.allowed.test)",
    )
    expect((await tunnel(p.url, `wild.test:${echoPort}`, p.token)).status).toBe(403)
  })

  it("refuses other ports and bare addresses", async () => {
    await using p = await proxy()
    const port = await tunnel(p.url, "api.allowed.test:22", p.token)
    expect(port.status).toBe(403)
    expect(port.body).toContain("port 22 of api.allowed.test is refused: only 443")
    const address = await tunnel(p.url, "1.1.1.1:443", p.token)
    expect(address.status).toBe(403)
    expect(address.body).toContain("1.1.1.1 is an address, not one of this run's allowed domains")
    expect((await tunnel(p.url, "[2606:4700::1111]:443", p.token)).status).toBe(403)
    expect((await tunnel(p.url, "api.allowed.test", p.token)).status).toBe(400)
  })

  it.each([
    ["inward.allowed.test", "10.0.0.7, a private address"],
    ["metadata.allowed.test", "169.254.169.254, a link-local address (cloud metadata lives there)"],
    ["ula.allowed.test", "fd00::1, a unique local (private) address"],
    ["cgnat.allowed.test", "100.64.0.1, a shared (carrier-grade NAT) address"],
    ["mixed.allowed.test", "192.168.1.1, a private address"],
  ])("refuses an allowed name that resolves inward: %s", async (name, reason) => {
    await using p = await proxy()
    const result = await tunnel(p.url, `${name}:${echoPort}`, p.token)
    expect(result.status).toBe(403)
    expect(result.body).toContain(`${name} resolves to ${reason}, which no sandbox may reach`)
  })

  it("refuses loopback too, IPv4-mapped or not, unless a test allows it", async () => {
    await using p = await proxy({ allowLoopbackForTests: false })
    const plain = await tunnel(p.url, `api.allowed.test:${echoPort}`, p.token)
    expect(plain.status).toBe(403)
    expect(plain.body).toContain("resolves to 127.0.0.1, a loopback address")
    const mapped = await tunnel(p.url, `mapped.allowed.test:${echoPort}`, p.token)
    expect(mapped.status).toBe(403)
    expect(mapped.body).toContain("resolves to ::ffff:127.0.0.1, a loopback address")
  })

  it("answers a name that does not resolve with 502", async () => {
    await using p = await proxy()
    const result = await tunnel(p.url, "gone.allowed.test:443", p.token)
    expect(result.status).toBe(502)
    expect(result.body).toContain("cannot resolve gone.allowed.test: ENOTFOUND")
  })

  it("wants the run's token: missing, unknown or revoked is 407", async () => {
    await using p = await proxy()
    for (const token of [undefined, "ppx-made-up"]) {
      const result = await tunnel(p.url, `api.allowed.test:${echoPort}`, token)
      expect(result.status).toBe(407)
      expect(result.head).toContain('Proxy-Authenticate: Basic realm="perstack egress"')
    }
    p.revokeToken(p.token)
    expect((await tunnel(p.url, `api.allowed.test:${echoPort}`, p.token)).status).toBe(407)
  })

  it("refuses plain-HTTP proxying, even to an allowed domain", async () => {
    await using p = await proxy()
    const { hostname, port } = new URL(p.url)
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request({
        host: hostname,
        port,
        method: "GET",
        path: `http://api.allowed.test:${echoPort}/`,
        headers: {
          "proxy-authorization": `Basic ${Buffer.from(`perstack:${p.token}`).toString("base64")}`,
        },
      })
      request.once("response", (response) => {
        let body = ""
        response.on("data", (chunk: Buffer) => {
          body += chunk.toString("utf8")
        })
        response.once("end", () => resolve({ status: response.statusCode ?? 0, body }))
      })
      request.once("error", reject)
      request.end()
    })
    expect(answer.status).toBe(403)
    expect(answer.body).toContain("plain http:// (GET http://api.allowed.test")
  })
})

describe("parseAuthority and refusedAddressReason", () => {
  it("reads host:port, bracketed IPv6 included, and nothing else", () => {
    expect(parseAuthority("example.com:443")).toEqual({ host: "example.com", port: 443 })
    expect(parseAuthority("[::1]:443")).toEqual({ host: "::1", port: 443 })
    expect(parseAuthority("example.com")).toBeUndefined()
    expect(parseAuthority("user@example.com:443")).toBeUndefined()
    expect(parseAuthority("example.com:70000")).toBeUndefined()
  })

  it("classifies resolved addresses, IPv4 and IPv6", () => {
    expect(refusedAddressReason("93.184.215.14")).toBeUndefined()
    expect(refusedAddressReason("2606:2800:21f:cb07:6820:80da:af6b:8b2c")).toBeUndefined()
    expect(refusedAddressReason("::1")).toBe("a loopback address")
    expect(refusedAddressReason("::1", true)).toBeUndefined()
    expect(refusedAddressReason("fe80::1")).toBe("a link-local address")
    expect(refusedAddressReason("::ffff:169.254.169.254")).toBe(
      "a link-local address (cloud metadata lives there)",
    )
    expect(refusedAddressReason("::ffff:10.1.2.3", true)).toBe("a private address")
    expect(refusedAddressReason("0.0.0.0")).toBe("an unspecified (this-network) address")
  })
})
