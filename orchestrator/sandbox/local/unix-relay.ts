// The way out of a local sandbox that has no network of its own (network = "gateway"): a unix socket per service of
// the orchestrator (the LLM gateway, the egress proxy), in a private folder bound into the sandbox, each relayed to
// the service's TCP port on this host. Inside, the runtime listens on the same loopback addresses and relays back
// (runtime/cli/loopback-relays.ts), so URLs and proxy settings read the same on both sides.
import { mkdtemp, rm } from "node:fs/promises"
import net from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"

/** Where the folder appears inside the sandbox. */
export const RELAY_DIR_IN_SANDBOX = "/run/perstack-relay"

export interface RelayTarget {
  /** the socket's name in the folder */
  name: string
  host: string
  port: number
}

export interface UnixRelays {
  /** the folder on this host, to bind into the sandbox at RELAY_DIR_IN_SANDBOX */
  readonly dir: string
  /** PERSTACK_LOOPBACK_RELAYS for the runtime: `host:port=<socket in the sandbox>`, comma-separated */
  readonly spec: string
  close(): Promise<void>
}

export async function startUnixRelays(targets: readonly RelayTarget[]): Promise<UnixRelays> {
  const dir = await mkdtemp(path.join(tmpdir(), "perstack-relay-"))
  const servers: net.Server[] = []
  try {
    for (const target of targets) {
      const server = net.createServer((inside) => {
        const outside = net.connect(target.port, target.host)
        inside.pipe(outside).pipe(inside)
        const drop = () => {
          inside.destroy()
          outside.destroy()
        }
        inside.on("error", drop)
        outside.on("error", drop)
      })
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(path.join(dir, `${target.name}.sock`), () => resolve())
      })
      servers.push(server)
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    dir,
    spec: targets
      .map((target) => `${target.host}:${target.port}=${RELAY_DIR_IN_SANDBOX}/${target.name}.sock`)
      .join(","),
    async close() {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
