// `perstack serve` as a library: an HTTP server (node:http) around ServeApp, with a graceful close.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { ServeApp, type ServeAppOptions } from "./serve-app.ts"

export interface ServeOptions extends ServeAppOptions {
  /** default 127.0.0.1 */
  host?: string
  /** default 8080; 0 picks a free port */
  port?: number
}

export interface ServeHandle {
  /** e.g. http://127.0.0.1:8080 */
  url: string
  app: ServeApp
  server: Server
  /** stops accepting, ends streams, stops running jobs gracefully (they stay resumable), then closes */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const app = new ServeApp(options)
  const server = createServer((request, response) => void app.handle(request, response))
  // Slow-loris bounds: a client must send its headers and body promptly.
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const { requeued, resumed } = await app.recover()
  if (requeued > 0) options.log?.(`requeued ${requeued} jobs accepted before the restart`)
  if (resumed > 0)
    options.log?.(`resuming ${resumed} jobs that were running when the previous server stopped`)
  const address = server.address() as AddressInfo
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      await app.close()
      server.closeIdleConnections()
      // A request still in flight gets a moment to finish; then every connection is closed.
      const grace = setTimeout(() => server.closeAllConnections(), 1_000)
      await closed
      clearTimeout(grace)
    })()
    return closing
  }
  return { url: `http://${host}:${address.port}`, app, server, close, [Symbol.asyncDispose]: close }
}
