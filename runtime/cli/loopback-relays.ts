// Inside a local sandbox without a network of its own: listens on the loopback addresses the orchestrator's services
// have on the host and relays each connection to the unix socket it was given for that service
// (PERSTACK_LOOPBACK_RELAYS=host:port=/path.sock,...). The LLM gateway's URL and the egress proxy's then work unchanged.
import net from "node:net"
import { PerstackError } from "../errors/perstack-error.ts"

export async function startLoopbackRelays(spec: string | undefined): Promise<{ close(): void }> {
  const servers: net.Server[] = []
  const open = new Set<net.Socket>()
  for (const entry of (spec ?? "").split(",").filter(Boolean)) {
    const match = /^(127\.0\.0\.1|\[::1\]):(\d+)=(\/.+)$/.exec(entry)
    if (!match) throw new PerstackError("runSpec.relay", `PERSTACK_LOOPBACK_RELAYS: cannot read "${entry}"`)
    const [, host = "", port = "", socket = ""] = match
    const server = net.createServer((inside) => {
      const outside = net.connect(socket)
      inside.pipe(outside).pipe(inside)
      // An idle keep-alive connection must not keep the runtime alive once its run is over.
      for (const end of [inside, outside]) {
        end.unref()
        open.add(end)
        end.once("close", () => open.delete(end))
      }
      const drop = () => {
        inside.destroy()
        outside.destroy()
      }
      inside.on("error", drop)
      outside.on("error", drop)
    })
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(Number(port), host.replace(/^\[|\]$/g, ""), () => resolve())
    })
    // The run's end, not these servers, decides when the process exits.
    server.unref()
    servers.push(server)
  }
  return {
    close() {
      for (const server of servers) server.close()
      for (const socket of open) socket.destroy()
    },
  }
}
