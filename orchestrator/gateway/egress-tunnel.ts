// The egress proxy's side of a tunnel: a refusal written as a plain HTTP answer, the connection to the checked
// addresses (never to the name again), and the bytes piped both ways once it is established.
import net, { type Socket } from "node:net"
import type { Duplex } from "node:stream"
import type { Refusal } from "./egress-admission.ts"

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  502: "Bad Gateway",
}

export function writeRefusal(socket: Duplex, refusal: Refusal): void {
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

/** Connects to the checked addresses in turn (never to the name: it could resolve elsewhere a second time). */
export async function connectTo(
  addresses: readonly string[],
  port: number,
  connectTimeoutMs: number,
): Promise<Socket> {
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
        upstream.once("timeout", () => upstream.destroy(new Error(`timed out after ${connectTimeoutMs} ms`)))
        upstream.once("error", reject)
      })
    } catch (error) {
      lastError = error as Error
    }
  }
  throw lastError ?? new Error("no address")
}

/** The tunnel is open: the client hears so, and the bytes flow both ways until either side closes. */
export function joinTunnel(client: Duplex, upstream: Socket, head: Buffer): void {
  upstream.setNoDelay(true)
  ;(client as Socket).setNoDelay?.(true)
  upstream.on("error", () => client.destroy())
  client.on("close", () => upstream.destroy())
  upstream.on("close", () => client.destroy())
  client.write("HTTP/1.1 200 Connection established\r\n\r\n")
  if (head.length > 0) upstream.write(head)
  client.pipe(upstream)
  upstream.pipe(client)
}
