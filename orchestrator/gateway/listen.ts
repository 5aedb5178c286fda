// Where the job's services (the LLM gateway, the egress proxy) listen: the address sandboxes reach, else loopback.
import type http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * Listens on `host` (default loopback); a bridge address that is not this host's (Docker Desktop, a remote engine,
 * which forward host.docker.internal to the host's loopback) falls back to loopback. Resolves with where it listens.
 */
export async function listenForSandboxes(
  server: http.Server,
  host: string | undefined,
  port: number | undefined,
): Promise<{ host: string; port: number }> {
  const listen = (address: string) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port ?? 0, address, () => {
        server.off("error", reject)
        resolve()
      })
    })
  let chosen = host ?? "127.0.0.1"
  await listen(chosen).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRNOTAVAIL" || chosen === "127.0.0.1") throw error
    chosen = "127.0.0.1"
    await listen(chosen)
  })
  return { host: chosen, port: (server.address() as AddressInfo).port }
}
